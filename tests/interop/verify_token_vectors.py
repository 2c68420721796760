#!/usr/bin/env python3
"""Checks the JWS test vectors in proto/testdata/ with an independent JOSE
library (PyJWT): the SADs of sad-vectors.json and the pairing requests and
answers of pairing-vectors.json.

Every token whose signature the vectors call valid must verify with PyJWT
under the given JWK, with the claims the vector lists; every token with a bad
signature, a wrong key or `alg: none` must not. PyJWT checks no claim of
ours (expiry, audience, typ): those are the Rust tests' part.
"""
import json
import pathlib
import sys

import jwt
from jwt.algorithms import ECAlgorithm

root = pathlib.Path(__file__).resolve().parents[2] / "proto/testdata"

# sad-vectors.json predates the signature_valid member.
SAD_SIGNATURE_PROBLEMS = {
    "tampered payload (document hash changed)",
    "signed by another key",
    "alg none, no signature",
    "malformed: two parts",
}


def cases():
    for v in json.loads((root / "sad-vectors.json").read_text()):
        yield "sad", v["device_public_jwk"], v, v["description"] not in SAD_SIGNATURE_PROBLEMS
    for v in json.loads((root / "pairing-vectors.json").read_text()):
        yield v["kind"], v["public_jwk"], v, v["signature_valid"]


failures = 0
seen = 0
for kind, jwk, v, signature_valid in cases():
    seen += 1
    key = ECAlgorithm.from_jwk(json.dumps(jwk))
    try:
        claims = jwt.decode(
            v["token"], key, algorithms=["ES256"], audience=v["claims"]["aud"],
            options={"verify_exp": False, "verify_iat": False},
        )
        ok = True
    except jwt.PyJWTError as e:
        ok, claims = False, str(e)
    status = "ok" if ok == signature_valid else "MISMATCH"
    if ok and claims != v["claims"]:
        status = "CLAIMS DIFFER"
    if status != "ok":
        failures += 1
    print(f"{status:13} {kind:8} {v['description']}")
if seen < 20:
    print(f"only {seen} vectors found")
    failures += 1
sys.exit(1 if failures else 0)
