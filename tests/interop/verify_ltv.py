"""Validates a wysiwys PAdES B-LT / B-LTA file offline with pyHanko's AdES
engine (ETSI EN 319 102-1): only our CA as trust root, revocation
information required and taken from the file alone (no fetching).

usage: verify_ltv.py FILE CA_PEM LEVEL [YEARS_AHEAD]

LEVEL is B-LT or B-LTA. A B-LTA file goes through the AdES LTA algorithm
(its document timestamp is the evidence record); with YEARS_AHEAD it is also
validated as of that many years from now, after the signer's certificate
expired. A B-LT file has no evidence record: it is validated now, with a
validation context made of its DSS alone, revocation data required.
"""

import asyncio
import sys
from datetime import datetime, timedelta, timezone

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation, simulate_future_ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevocationInfoGatheringSpec,
    RevinfoOnlineFetchingRule,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager


async def main(path: str, ca_path: str, level: str, years: int | None) -> None:
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=[load_cert_from_pemder(ca_path)]),
                revinfo_policy=CertRevTrustPolicy(revocation_checking_policy=REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    with open(path, "rb") as f:
        reader = PdfFileReader(f)
        signatures = reader.embedded_regular_signatures
        assert len(signatures) == 1, f"expected one signature, found {len(signatures)}"
        timestamps = reader.embedded_timestamp_signatures
        assert reader.root["/DSS"] is not None, "no DSS"
        if level == "B-LTA":
            assert len(timestamps) == 1, f"expected one document timestamp, found {len(timestamps)}"
        else:
            assert not timestamps, "B-LT has no document timestamp"
        if level == "B-LT":
            context = DocumentSecurityStore.read_dss(reader).as_validation_context(
                {"trust_roots": [load_cert_from_pemder(ca_path)], "allow_fetching": False, "revocation_mode": "require"}
            )
            status = await async_validate_pdf_signature(signatures[0], context)
            print(status.pretty_print_details())
            assert status.bottom_line, "not valid with the DSS alone"
            assert status.timestamp_validity is not None and status.timestamp_validity.valid, "no signature timestamp"
            print("OK")
            return
        result = await ades_lta_validation(signatures[0], spec)
        print("now:", result.ades_subindic, result.api_status.pretty_print_details() if result.api_status else "")
        assert result.ades_subindic == AdESPassed.OK, result.ades_subindic
        assert result.api_status.timestamp_validity is not None, "no signature timestamp"
        if level == "B-LTA" and years:
            future = datetime.now(tz=timezone.utc) + timedelta(days=365 * years)
            later = await simulate_future_ades_lta_validation(signatures[0], spec, future_validation_time=future)
            print(f"in {years} years:", later.ades_subindic)
            assert later.ades_subindic == AdESPassed.OK, later.ades_subindic
    print("OK")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None))
