#!/usr/bin/env python3
"""Validates a PAdES signature made by wysiwys with pyHanko, an independent
implementation: intact, valid, trusted under our CA, covering the whole file,
ETSI.CAdES.detached, and no signing-time attribute (EN 319 142-1 B-B puts the
time in /M). Prints the signer's evidence; exits non-zero on any failure.

Usage: verify_pades.py SIGNED.pdf CA.pem [--client-signed]

--client-signed: the CMS was made by a CSC client (pyHanko's CSCSigner) from
signatures wysiwys returned, so it carries no wysiwys evidence attribute.
"""
import asyncio
import sys

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import load_cert_from_pemder
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

# The evidence OID (docs/PROTOCOL.md); signatures made before December 2026
# carry LEGACY_EVIDENCE_OID.
EVIDENCE_OID = "1.3.6.1.4.1.32473.1397600879.1"
LEGACY_EVIDENCE_OID = "2.25.221458699246909409711979724285883248513"


async def main(pdf_path: str, ca_path: str, client_signed: bool) -> None:
    context = ValidationContext(trust_roots=[load_cert_from_pemder(ca_path)])
    with open(pdf_path, "rb") as f:
        reader = PdfFileReader(f)
        assert len(reader.embedded_signatures) == 1, "expected exactly one signature"
        signature = reader.embedded_signatures[0]
        status = await async_validate_pdf_signature(signature, context)
        print(status.pretty_print_details())
        assert status.intact and status.valid, "signature not intact or not valid"
        assert status.trusted, f"signer not trusted: {status.trust_problem_indic}"
        assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE, f"coverage {status.coverage}"
        assert status.modification_level in (None, ModificationLevel.NONE), status.modification_level
        assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
        attributes = {a["type"].dotted: a for a in signature.signer_info["signed_attrs"]}
        assert "1.2.840.113549.1.9.5" not in attributes, "PAdES B-B has no signing-time attribute"
        if not client_signed:
            assert EVIDENCE_OID in attributes, "evidence attribute missing"
            print("evidence:", attributes[EVIDENCE_OID]["values"][0].native)
        print("signer:", status.signing_cert.subject.human_friendly)
        print("OK")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:] == ["--client-signed"]))
