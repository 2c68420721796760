#!/usr/bin/env python3
"""PDFs for the PDF policy (PROTOCOL.md §9), made by pyHanko rather than by
lopdf, so the policy is tried on another producer's files: one plain and one
signed by a third party (both must be accepted), and one per attack class.

Usage:
  pdf_attacks.py make OUTDIR
      writes OUTDIR/<case>.pdf for every case, OUTDIR/cases.json mapping
      each case to the rule it must be refused under (null: accepted), and
      OUTDIR/third-party-ca.pem, the certificate of the third party's key.
  pdf_attacks.py validate SIGNED.pdf THIRD_PARTY.pem OUR_CA.pem
      checks with pyHanko that the file holds two signatures, the third
      party's and ours, both intact, valid and trusted, ours covering the
      whole file; exits non-zero otherwise.
"""
import asyncio
import datetime
import io
import json
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

TEXT = b"BT /F1 18 Tf 72 760 Td (Decision 2026-88: the permit is granted.) Tj ET"


def base(text=TEXT):
    """A one-page PDF writer with Helvetica and `text` on the page."""
    w = PdfFileWriter()
    font = w.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            }
        )
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
    )
    contents = w.add_object(generic.StreamObject(stream_data=text))
    w.insert_page(PageObject(contents, (0, 0, 595, 842), resources))
    return w


def page(w):
    return w.root["/Pages"]["/Kids"][0].get_object()


def written(w):
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def with_root(key, value):
    w = base()
    w.root[pdf_name(key)] = value
    w.update_root()
    return written(w)


def javascript():
    action = generic.DictionaryObject(
        {pdf_name("/S"): pdf_name("/JavaScript"), pdf_name("/JS"): pdf_string("app.alert('paid')")}
    )
    return with_root("/OpenAction", action)


def annotation(w, extra):
    annot = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (72, 700, 300, 720)]),
            **extra,
        }
    )
    ref = w.add_object(annot)
    p = page(w)
    p[pdf_name("/Annots")] = generic.ArrayObject([ref])
    w.update_container(p)
    return ref


def launch():
    w = base()
    action = generic.DictionaryObject({pdf_name("/S"): pdf_name("/Launch"), pdf_name("/F"): pdf_string("calc.exe")})
    annotation(w, {pdf_name("/Subtype"): pdf_name("/Link"), pdf_name("/A"): action})
    return written(w)


def embedded_file():
    w = base()
    data = EmbeddedFileObject.from_file_data(w, b"IBAN DE00 0000 0000 0000 0000 00\n", mime_type="text/plain")
    embed_file(w, FileSpec(file_spec_string="payee.txt", embedded_data=data))
    return written(w)


def xfa():
    w = base()
    packet = w.add_object(generic.StreamObject(stream_data=b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>"))
    w.root[pdf_name("/AcroForm")] = generic.DictionaryObject(
        {pdf_name("/Fields"): generic.ArrayObject(), pdf_name("/XFA"): packet}
    )
    w.update_root()
    return written(w)


def layers():
    w = base()
    group = w.add_object(
        generic.DictionaryObject({pdf_name("/Type"): pdf_name("/OCG"), pdf_name("/Name"): pdf_string("print only")})
    )
    w.root[pdf_name("/OCProperties")] = generic.DictionaryObject(
        {
            pdf_name("/OCGs"): generic.ArrayObject([group]),
            pdf_name("/D"): generic.DictionaryObject({pdf_name("/OFF"): generic.ArrayObject([group])}),
        }
    )
    w.update_root()
    return written(w)


def encrypted():
    w = base()
    w.encrypt("owner password", "")
    return written(w)


def fillable():
    w = base()
    field = annotation(
        w,
        {
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): pdf_string("amount"),
            pdf_name("/V"): pdf_string("100.00 EUR"),
        },
    )
    w.root[pdf_name("/AcroForm")] = generic.DictionaryObject({pdf_name("/Fields"): generic.ArrayObject([field])})
    w.update_root()
    return written(w)


def shadow_hide():
    """Content the page does not use yet; an update after signing would."""
    w = base()
    w.add_object(generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 700 Td (Amount due: 9 000.00 EUR) Tj ET"))
    return written(w)


def shadow_hide_and_replace():
    """A whole second page tree waits in the file for an update to swap the root."""
    w = base()
    pages = w.add_object(generic.DictionaryObject({pdf_name("/Type"): pdf_name("/Pages")}))
    contents = w.add_object(generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 760 Td (The permit is refused.) Tj ET"))
    other = w.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Page"),
                pdf_name("/Parent"): pages,
                pdf_name("/Contents"): contents,
                pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)]),
            }
        )
    )
    pages_dict = pages.get_object()
    pages_dict[pdf_name("/Kids")] = generic.ArrayObject([other])
    pages_dict[pdf_name("/Count")] = generic.NumberObject(1)
    return written(w)


def forged_signature():
    """A signature field whose value signs nothing: no /ByteRange, no /Contents."""
    w = base()
    sig = w.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Sig"),
                pdf_name("/Filter"): pdf_name("/Adobe.PPKLite"),
                pdf_name("/SubFilter"): pdf_name("/adbe.pkcs7.detached"),
            }
        )
    )
    field = annotation(
        w,
        {
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Sig"),
            pdf_name("/T"): pdf_string("Agency"),
            pdf_name("/V"): sig,
        },
    )
    w.root[pdf_name("/AcroForm")] = generic.DictionaryObject(
        {pdf_name("/Fields"): generic.ArrayObject([field]), pdf_name("/SigFlags"): generic.NumberObject(3)}
    )
    w.update_root()
    return written(w)


def third_party(out):
    """A P-256 key and self-signed certificate for the agency that signs first."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Agency that signed first")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, True, False, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    (out / "third-party-key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (out / "third-party-ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    from pyhanko.sign import signers

    return signers.SimpleSigner.load(str(out / "third-party-key.pem"), str(out / "third-party-ca.pem"))


def signed_by(signer, pdf, certify=False):
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name="Agency",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    out = io.BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, output=out)
    return out.getvalue()


def incremental_change(signed):
    """After the agency's signature, an update replaces what the page says."""
    w = IncrementalPdfFileWriter(io.BytesIO(signed))
    p = w.root["/Pages"]["/Kids"][0].get_object()
    p[pdf_name("/Contents")] = w.add_object(
        generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 760 Td (Decision 2026-88: the permit is refused.) Tj ET")
    )
    w.update_container(p)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def gap_of(pdf):
    start = pdf.index(b"/ByteRange")
    numbers = pdf[pdf.index(b"[", start) + 1 : pdf.index(b"]", start)].split()
    _, a, b, _ = (int(n) for n in numbers)
    return a, b


def wrapped(signed):
    """The unsigned gap of the agency's signature holds a shorter /Contents and more."""
    a, b = gap_of(signed)
    gap = signed[a:b]
    inner = gap[1:-1].rstrip(b"0")
    extra = b" /Wrapped (" + b"x" * 10 + b")"
    keep = len(gap) - len(extra) - 2
    assert keep > len(inner), "room for the wrapped entry"
    new_gap = b"<" + gap[1 : 1 + keep - (keep % 2)] + b">" + extra
    new_gap += b" " * (len(gap) - len(new_gap))
    return signed[:a] + new_gap + signed[b:]


def tampered(signed):
    """One byte of the signed text changed: the digest no longer matches."""
    at = signed.index(b"granted")
    return signed[:at] + b"G" + signed[at + 1 :]


def make(out):
    out.mkdir(parents=True, exist_ok=True)
    signer = third_party(out)
    plain = written(base())
    signed = signed_by(signer, plain)
    cases = {
        "plain": (plain, None),
        "signed-by-a-third-party": (signed, None),
        "javascript": (javascript(), "javascript"),
        "launch-action": (launch(), "action"),
        "embedded-file": (embedded_file(), "embedded-file"),
        "xfa": (xfa(), "xfa"),
        "optional-content": (layers(), "optional-content"),
        "encrypted": (encrypted(), "encrypted"),
        "fillable-field": (fillable(), "form-field"),
        "shadow-hide": (shadow_hide(), "unused-object"),
        "shadow-hide-and-replace": (shadow_hide_and_replace(), "unused-object"),
        "certified-no-changes": (signed_by(signer, plain, certify=True), "certified-no-changes"),
        "universal-signature-forgery": (forged_signature(), "signature-forgery"),
        "signed-then-tampered": (tampered(signed), "signature-forgery"),
        "signature-wrapping": (wrapped(signed), "signature-wrapping"),
        "incremental-saving": (incremental_change(signed), "incremental-update"),
    }
    for name, (pdf, _) in cases.items():
        (out / f"{name}.pdf").write_bytes(pdf)
    (out / "cases.json").write_text(json.dumps({name: rule for name, (_, rule) in cases.items()}, indent=1))


async def validate(pdf_path, third_party_ca, our_ca):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.general import load_cert_from_pemder
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = [load_cert_from_pemder(third_party_ca), load_cert_from_pemder(our_ca)]
    with open(pdf_path, "rb") as f:
        reader = PdfFileReader(f)
        signatures = reader.embedded_signatures
        assert len(signatures) == 2, f"expected two signatures, found {len(signatures)}"
        for signature in signatures:
            status = await async_validate_pdf_signature(signature, ValidationContext(trust_roots=roots))
            print(signature.field_name, status.summary())
            assert status.intact and status.valid, f"{signature.field_name}: not intact or not valid"
            assert status.trusted, f"{signature.field_name}: not trusted"
            level = status.modification_level
            assert level in (None, ModificationLevel.NONE, ModificationLevel.FORM_FILLING), f"{signature.field_name}: {level}"
        assert signatures[1].field_name != "Agency"
        last = await async_validate_pdf_signature(signatures[1], ValidationContext(trust_roots=roots))
        assert last.coverage == SignatureCoverageLevel.ENTIRE_FILE, last.coverage
    print("OK")


if __name__ == "__main__":
    if sys.argv[1:2] == ["make"]:
        make(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["validate"]:
        asyncio.run(validate(*sys.argv[2:5]))
    else:
        sys.exit(__doc__)
