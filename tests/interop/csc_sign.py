#!/usr/bin/env python3
"""Signs PDFs with pyHanko's CSCSigner through wysiwys's CSC API, exactly as
a document platform would: credentials/list, credentials/info, then one
credentials/authorize for the batch (pyHanko ships no authorization manager;
this is the small one a client writes) and one signatures/signHash.

The person confirms on both channels while credentials/authorize waits.
Progress goes to stdout as JSON lines, for the test that drives the channels:
  {"event": "credential", "credential_id": ...}
  {"event": "authorizing", "hashes": [...]}      before the blocking call
  {"event": "signed", "outputs": [...]}          at the end
  {"event": "error", "status": 400, "body": {...}}  on a CSC refusal (exit 2)

Usage: csc_sign.py SERVICE_URL TOKEN USER_ID BATCH_SIZE IN.pdf OUT.pdf [OUT.pdf ...]
Each OUT.pdf is IN.pdf signed once; all of them share one authorization.
"""
import asyncio
import json
import sys

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationManager,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)

# The person may take a while on two devices; the server bounds the wait.
AUTHORIZE_TIMEOUT_S = 300


def emit(**event):
    print(json.dumps(event), flush=True)


class CscRefused(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


class TwoChannelAuthorizationManager(CSCAuthorizationManager):
    """Asks for a SAD bound to exactly the hashes about to be signed (SCAL2);
    the call returns once the person confirmed them on both channels."""

    def __init__(self, session_info, credential_info, http):
        super().__init__(session_info, credential_info)
        self.http = http

    async def authorize_signature(self, hash_b64s):
        body = self.format_csc_auth_request(hash_b64s=hash_b64s, description="Contract for the signer to sign")
        emit(event="authorizing", hashes=hash_b64s)
        async with self.http.post(
            self.csc_session_info.endpoint_url("credentials/authorize"),
            headers=self.auth_headers,
            json=body,
            timeout=aiohttp.ClientTimeout(total=AUTHORIZE_TIMEOUT_S),
        ) as response:
            data = await response.json()
            if response.status != 200:
                raise CscRefused(response.status, data)
        return self.parse_csc_auth_response(data)


async def post(http, session_info, method, body):
    async with http.post(session_info.endpoint_url(method), headers=session_info.auth_headers, json=body) as response:
        data = await response.json()
        if response.status != 200:
            raise CscRefused(response.status, data)
        return data


async def sign_one(signer, source, output):
    with open(source, "rb") as f:
        writer = IncrementalPdfFileWriter(f)
        meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
        pdf_signer = signers.PdfSigner(meta, signer=signer)
        with open(output, "wb") as out:
            await pdf_signer.async_sign_pdf(writer, output=out)


async def main(service_url, token, user_id, batch_size, source, outputs):
    async with aiohttp.ClientSession() as http:
        anonymous = CSCServiceSessionInfo(service_url, credential_id="", oauth_token=token)
        listed = await post(http, anonymous, "credentials/list", {"userID": user_id})
        credential_id = listed["credentialIDs"][0]
        emit(event="credential", credential_id=credential_id)
        session_info = CSCServiceSessionInfo(service_url, credential_id, oauth_token=token)
        credential_info = await fetch_certs_in_csc_credential(http, session_info)
        manager = TwoChannelAuthorizationManager(session_info, credential_info, http)
        signer = CSCSigner(http, manager, batch_size=batch_size)
        await asyncio.gather(*(sign_one(signer, source, output) for output in outputs))
        emit(event="signed", outputs=outputs)


if __name__ == "__main__":
    url, token, user, batch, source, *outs = sys.argv[1:]
    try:
        asyncio.run(main(url, token, user, int(batch), source, outs))
    except CscRefused as refused:
        emit(event="error", status=refused.status, body=refused.body)
        sys.exit(2)
    except SigningError as e:
        # CSCSigner wraps our manager's refusal; report the CSC answer itself.
        cause = e.__cause__ or e.__context__
        if isinstance(cause, CscRefused):
            emit(event="error", status=cause.status, body=cause.body)
            sys.exit(2)
        raise
