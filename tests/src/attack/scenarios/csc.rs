//! The CSC API as a way in: a signing platform (or whoever holds its key,
//! or a script in the person's page) trying to get hashes signed that the
//! person did not confirm on both channels, or with a SAD that is not theirs.

use super::{push_for, refusal};
use crate::attack::lab::{CscPlatform, Victim, api, rand_bytes};
use crate::attack::{Lab, Observation, Played};
use crate::csc::CscAnswer;
use serde_json::{Value, json};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::RequestState;
use wysiwys_proto::csc::{OID_ECDSA_WITH_SHA256, OID_SHA256, SAD_PREFIX};
use wysiwys_proto::sad::Decision;

fn digest(content: &str) -> String {
    wysiwys_proto::b64::encode_standard(wysiwys_proto::jcs::sha256(content.as_bytes()))
}

fn sign_body(credential: &str, sad: &str, hashes: &[&str]) -> Value {
    json!({"credentialID": credential, "SAD": sad, "hashes": hashes, "hashAlgorithmOID": OID_SHA256,
           "signAlgo": OID_ECDSA_WITH_SHA256})
}

/// A platform's authorization of `hashes`, on the victim's Sign page and device.
struct Authorization {
    platform: CscPlatform,
    victim: Victim,
    credential: String,
    handle: String,
}

impl Authorization {
    async fn start(lab: &Lab, hashes: &[String]) -> anyhow::Result<Authorization> {
        let platform = lab.csc_platform().await?;
        let victim = lab.victim_of(&platform).await?;
        let credential = platform.csc.credential_of(&victim.user.credentials.username).await;
        let started = platform
            .csc
            .post(
                "credentials/authorize",
                &json!({"credentialID": credential, "numSignatures": hashes.len(), "hashes": hashes}),
            )
            .await;
        anyhow::ensure!(started.status == 202, "authorize answered {} {}", started.status, started.body);
        let handle = started.body["handle"].as_str().unwrap_or_default().to_owned();
        Ok(Authorization { platform, victim, credential, handle })
    }

    /// The person approves on the device and confirms in the browser; the
    /// platform collects the SAD.
    async fn confirmed(lab: &Lab, hashes: &[String]) -> anyhow::Result<(Authorization, String)> {
        let a = Authorization::start(lab, hashes).await?;
        let mut device = a.victim.device.connect().await?;
        let push = push_for(&mut device, &a.handle).await;
        let token = device.sad(&push, Decision::Approve);
        let answer = device.submit(&a.handle, &token).await;
        anyhow::ensure!(refusal(&answer).is_none(), "the device's approval was refused: {answer:?}");
        a.victim.user.browser.confirm_as_displayed(&a.handle).await.map_err(api)?;
        let collected = a.check().await;
        anyhow::ensure!(collected.status == 200, "authorizeCheck answered {} {}", collected.status, collected.body);
        let sad = collected.body["SAD"].as_str().unwrap_or_default().to_owned();
        Ok((a, sad))
    }

    async fn check(&self) -> CscAnswer {
        self.platform.csc.post("credentials/authorizeCheck", &json!({"handle": self.handle})).await
    }

    async fn sign(&self, sad: &str, hashes: &[&str]) -> CscAnswer {
        self.platform.csc.post("signatures/signHash", &sign_body(&self.credential, sad, hashes)).await
    }

    async fn state(&self) -> anyhow::Result<RequestState> {
        Ok(self.victim.user.browser.request(&self.handle).await.map_err(api)?.state)
    }
}

pub fn hash_not_confirmed(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let confirmed = digest("the contract the person read");
        let (a, sad) = Authorization::confirmed(lab, std::slice::from_ref(&confirmed)).await?;
        let other = digest("a loan the person never saw");
        let swapped = a.sign(&sad, &[&other]).await;
        let mut o = Observation::new(swapped.code());
        o.expect(
            "the confirmed hash with another",
            a.sign(&sad, &[&confirmed, &other]).await.code(),
            ErrorCode::HashNotAuthorized,
        );
        o.expect(
            "the confirmed hash twice",
            a.sign(&sad, &[&confirmed, &confirmed]).await.code(),
            ErrorCode::HashNotAuthorized,
        );
        o.require("the authorization is still open, nothing used", a.state().await? == RequestState::Authorized);
        o.signature_produced = swapped.status == 200;
        Ok(o)
    })
}

pub fn sad_replay(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let hashes = [digest("page one"), digest("page two")];
        let (a, sad) = Authorization::confirmed(lab, &hashes).await?;
        let genuine = a.sign(&sad, &[&hashes[0]]).await;
        anyhow::ensure!(genuine.status == 200, "the genuine signHash was refused: {}", genuine.body);
        let replayed = a.sign(&sad, &[&hashes[0]]).await;
        let mut o = Observation::new(replayed.code());
        let again = a.check().await;
        o.expect("collecting the SAD a second time", again.code(), ErrorCode::CscSadInvalid);
        o.require("the second hash is still open", a.state().await? == RequestState::Authorized);
        o.signature_produced = replayed.status == 200;
        Ok(o)
    })
}

pub fn sad_for_another_credential(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let hash = digest("a mandate");
        let (a, sad) = Authorization::confirmed(lab, std::slice::from_ref(&hash)).await?;
        // A second person the same platform serves.
        let other = lab.account_served_by(vec![a.platform.credentials.rp_id.clone()]).await?;
        let credential = a.platform.csc.credential_of(&other.username).await;
        let answer = a.platform.csc.post("signatures/signHash", &sign_body(&credential, &sad, &[&hash])).await;
        let mut o = Observation::new(answer.code());
        o.require("the victim's authorization is untouched", a.state().await? == RequestState::Authorized);
        o.signature_produced = answer.status == 200;
        Ok(o)
    })
}

pub fn foreign_credential(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let hash = digest("a deed");
        let (a, sad) = Authorization::confirmed(lab, std::slice::from_ref(&hash)).await?;
        let intruder = lab.csc_platform().await?;
        let answer = intruder.csc.post("signatures/signHash", &sign_body(&a.credential, &sad, &[&hash])).await;
        let mut o = Observation::new(answer.code());
        let username = a.victim.user.credentials.username.clone();
        let listed = intruder.csc.post("credentials/list", &json!({"userID": username})).await;
        o.require("listing the victim's credentials is refused", listed.status == 400);
        let info = intruder.csc.post("credentials/info", &json!({"credentialID": a.credential})).await;
        o.expect("describing it", info.code(), ErrorCode::CredentialUnknown);
        let authorize = intruder
            .csc
            .post("credentials/authorize", &json!({"credentialID": a.credential, "numSignatures": 1, "hashes": [hash]}))
            .await;
        o.expect("authorizing it", authorize.code(), ErrorCode::CredentialUnknown);
        let check = intruder.csc.post("credentials/authorizeCheck", &json!({"handle": a.handle})).await;
        o.require("polling the victim's authorization is refused", check.status == 400);
        o.require("the victim's authorization is untouched", a.state().await? == RequestState::Authorized);
        o.signature_produced = answer.status == 200;
        Ok(o)
    })
}

pub fn web_confirmation_alone(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let hash = digest("a power of attorney");
        let a = Authorization::start(lab, std::slice::from_ref(&hash)).await?;
        // Script in the page confirms; the device never answers.
        a.victim.user.browser.confirm_as_displayed(&a.handle).await.map_err(api)?;
        let mut o = Observation::new(None);
        let check = a.check().await;
        o.require("authorizeCheck still waits for the device", check.status == 202);
        let guessed = format!("{SAD_PREFIX}{}", wysiwys_proto::b64::encode(rand_bytes::<32>()));
        let answer = a.sign(&guessed, &[&hash]).await;
        o.observed = answer.code();
        o.require("the request still waits", a.state().await? == RequestState::Pending);
        o.signature_produced = answer.status == 200;
        Ok(o)
    })
}

/// `signDoc` is a second way for a platform to send a PDF: every attack
/// class must meet the same refusals as through the relying-party API,
/// before anything reaches the person.
pub fn sign_doc_unsafe_pdf(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let credentials = lab
            .register_relying_party_for(&lab.name("pdf platform"), &[wysiwys_proto::summary::MEDIA_TYPE_PDF])
            .await
            .map_err(api)?;
        let csc = crate::csc::CscClient::with_client(&lab.origin, "v2", Some(&credentials.api_key), lab.client());
        let signer = lab.account_served_by(vec![credentials.rp_id.clone()]).await?;
        let browser = lab.log_in(&signer).await?;
        let credential = csc.credential_of(&signer.username).await;
        let mut o: Option<Observation> = None;
        for attack in crate::attack::pdfs::active_content() {
            let body = json!({"credentialID": credential, "documents": [{
                "document": wysiwys_proto::b64::encode_standard(&attack.bytes), "signature_format": "P",
                "signAlgo": OID_ECDSA_WITH_SHA256,
                "display": {"title": "Decision 2026-4411", "lines": [{"label": "Case", "value": "2026-4411"}]}}]});
            let answer = csc.post("signatures/signDoc", &body).await;
            let observation = o.get_or_insert_with(|| Observation::new(answer.code()));
            observation.expect(attack.what, answer.code(), attack.refused_with());
            let said = answer.body["error_description"].as_str().unwrap_or_default();
            observation.require(&format!("{}: names rule `{}`", attack.what, attack.rule), said.contains(attack.rule));
        }
        let mut o = o.unwrap_or_default();
        o.require("nothing reached the person", browser.history().await.map_err(api)?.is_empty());
        Ok(o)
    })
}
