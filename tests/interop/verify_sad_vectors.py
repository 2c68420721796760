#!/usr/bin/env python3
"""Checks proto/testdata/sad-vectors.json with an independent JOSE library (PyJWT).

Every token marked valid must verify with PyJWT under the given JWK; every
token with a bad signature, a wrong key or `alg: none` must not.
"""
import json
import pathlib
import sys

import jwt
from jwt.algorithms import ECAlgorithm

root = pathlib.Path(__file__).resolve().parents[2]
vectors = json.loads((root / "proto/testdata/sad-vectors.json").read_text())
failures = 0
for v in vectors:
    key = ECAlgorithm.from_jwk(json.dumps(v["device_public_jwk"]))
    signature_problem = v["description"] in {
        "tampered payload (document hash changed)",
        "signed by another key",
        "alg none, no signature",
        "malformed: two parts",
    }
    try:
        claims = jwt.decode(
            v["token"], key, algorithms=["ES256"], audience=v["claims"]["aud"],
            options={"verify_exp": False, "verify_iat": False},
        )
        ok = True
    except jwt.PyJWTError as e:
        ok, claims = False, str(e)
    expected = not signature_problem
    status = "ok" if ok == expected else "MISMATCH"
    if ok and claims != v["claims"]:
        status = "CLAIMS DIFFER"
    if status != "ok":
        failures += 1
    print(f"{status:13} {v['description']}")
sys.exit(1 if failures else 0)
