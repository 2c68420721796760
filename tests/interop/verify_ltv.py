"""Validates a wysiwys PAdES B-LT / B-LTA file offline with pyHanko's AdES
engine (ETSI EN 319 102-1): only our CA as trust root, revocation
information required and taken from the file alone (no fetching).

usage: verify_ltv.py FILE CA_PEM LEVEL [--years N] [--signatures N] [--timestamps N]
       verify_ltv.py FILE CA_PEM fetching --at-seconds N
       verify_ltv.py FILE CA_PEM extend TSA_URL OUT

LEVEL is B-LT or B-LTA. Every signature in the file is validated (one
unless --signatures says more). A B-LTA file goes through the AdES LTA
algorithm (its document timestamps are the evidence record; one unless
--timestamps says more); with --years it is also validated as of that many
years from now, after the signer's certificate expired. A B-LT file has no
evidence record: it is validated now, with a validation context made of its
DSS alone, revocation data required.

`fetching` validates the one signature of a B-T file as of N seconds from
now, its revocation data fetched from the URLs in the certificates (our
server, on loopback), and prints the AdES indication of the validation of
signatures with time (after a revocation,
a signature timestamp from before it is the proof of existence that still
lets it pass: EN 319 102-1, past signature validation) and what pyHanko's
plain validator, which knows no such proof, says.

`extend` is what an archive does years later: pyHanko adds the validation
data of the newest document timestamp to the DSS and a new document
timestamp from TSA_URL over everything, writing OUT. Revocation data is
fetched from the URLs in the certificates (our server, on loopback).
"""

import argparse
import asyncio
from datetime import datetime, timedelta, timezone

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.ades import (
    ades_lta_validation,
    ades_with_time_validation,
    simulate_future_ades_lta_validation,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevocationInfoGatheringSpec,
    RevinfoOnlineFetchingRule,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager


def offline_spec(ca, fetching=RevinfoOnlineFetchingRule.LOCAL_ONLY) -> PdfSignatureValidationSpec:
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=[ca]),
                revinfo_policy=CertRevTrustPolicy(revocation_checking_policy=REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=fetching
            ),
        )
    )


async def validate(path: str, ca_path: str, level: str, years, signatures: int, timestamps: int) -> None:
    ca = load_cert_from_pemder(ca_path)
    spec = offline_spec(ca)
    with open(path, "rb") as f:
        reader = PdfFileReader(f)
        regular = reader.embedded_regular_signatures
        assert len(regular) == signatures, f"expected {signatures} signatures, found {len(regular)}"
        found = reader.embedded_timestamp_signatures
        assert reader.root["/DSS"] is not None, "no DSS"
        if level == "B-LTA":
            assert len(found) == timestamps, f"expected {timestamps} document timestamps, found {len(found)}"
        else:
            assert not found, "B-LT has no document timestamp"
        for n, signature in enumerate(regular, start=1):
            if level == "B-LT":
                context = DocumentSecurityStore.read_dss(reader).as_validation_context(
                    {"trust_roots": [ca], "allow_fetching": False, "revocation_mode": "require"}
                )
                status = await async_validate_pdf_signature(signature, context)
                print(f"signature {n}:", status.pretty_print_details())
                assert status.bottom_line, f"signature {n} not valid with the DSS alone"
                assert status.timestamp_validity is not None and status.timestamp_validity.valid, "no timestamp"
                continue
            result = await ades_lta_validation(signature, spec)
            print(f"signature {n} now:", result.ades_subindic)
            assert result.ades_subindic == AdESPassed.OK, (n, result.ades_subindic)
            assert result.api_status.timestamp_validity is not None, f"signature {n}: no signature timestamp"
            if years:
                future = datetime.now(tz=timezone.utc) + timedelta(days=365 * years)
                later = await simulate_future_ades_lta_validation(signature, spec, future_validation_time=future)
                print(f"signature {n} in {years} years:", later.ades_subindic)
                assert later.ades_subindic == AdESPassed.OK, (n, later.ades_subindic)
    print("OK")


async def fetching(path: str, ca_path: str, at_seconds: int) -> None:
    spec = offline_spec(load_cert_from_pemder(ca_path), RevinfoOnlineFetchingRule.ALWAYS_FETCH)
    at = datetime.now(tz=timezone.utc) + timedelta(seconds=at_seconds)
    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=False)
    with open(path, "rb") as f:
        reader = PdfFileReader(f)
        (signature,) = reader.embedded_regular_signatures
        # EN 319 102-1 §5.5, validation of signatures with time: the
        # signature timestamp gives the best-signature-time.
        result = await ades_with_time_validation(
            signed_data=signature.signed_data,
            validation_spec=spec.signature_validation_spec,
            timing_info=timing,
            raw_digest=signature.compute_digest(),
        )
        print("indication:", result.ades_subindic, "best signature time:", result.best_signature_time)
        # The same signature through pyHanko's plain validator, which takes
        # no proof of existence into account: it must see the revocation.
        context = ValidationContext(
            trust_roots=[load_cert_from_pemder(ca_path)], allow_fetching=True, revocation_mode="require", moment=at
        )
        plain = await async_validate_pdf_signature(signature, context)
        print(f"plain: revoked={plain.revoked} valid={plain.bottom_line}")


async def extend(path: str, ca_path: str, tsa_url: str, out: str) -> None:
    context = ValidationContext(trust_roots=[load_cert_from_pemder(ca_path)], allow_fetching=True)
    with open(path, "rb") as f:
        reader = PdfFileReader(f)
        stamper = PdfTimeStamper(HTTPTimeStamper(tsa_url))
        with open(out, "wb") as target:
            await stamper.async_update_archival_timestamp_chain(reader, context, in_place=False, output=target)
    print("extended")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("ca")
    parser.add_argument("level")
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--years", type=int)
    parser.add_argument("--signatures", type=int, default=1)
    parser.add_argument("--timestamps", type=int, default=1)
    parser.add_argument("--at-seconds", type=int, default=0)
    args = parser.parse_args()
    if args.level == "fetching":
        asyncio.run(fetching(args.file, args.ca, args.at_seconds))
    elif args.level == "extend":
        asyncio.run(extend(args.file, args.ca, args.rest[0], args.rest[1]))
    else:
        asyncio.run(validate(args.file, args.ca, args.level, args.years, args.signatures, args.timestamps))


if __name__ == "__main__":
    main()
