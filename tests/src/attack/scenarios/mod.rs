//! The catalogue. Each scenario is one function `fn(&Lab) -> Played`; the
//! table below gives its name, attacker, description and expected refusal.

mod accounts;
mod browser;
mod channel;
mod csc;
mod enrolment;
mod inputs;
mod oauth;
mod parties;
mod pdfs;
mod pki;
mod sad;
mod service;

use super::lab::{LETTER, Victim, api};
use super::{Attacker, Lab, Scenario};
use crate::device::ScriptedDevice;
use wysiwys_proto::ErrorCode::{self, *};
use wysiwys_proto::api::{AckOutcome, SignRequestView};
use wysiwys_proto::b64;
use wysiwys_proto::challenge::VerifiedChallenge;
use wysiwys_proto::sad::Decision;

macro_rules! scenario {
    ($name:literal, $attacker:ident, [$($code:ident),+], $play:path, $description:literal) => {
        Scenario {
            name: $name,
            attacker: Attacker::$attacker,
            description: $description,
            expected: &[$($code),+],
            play: $play,
        }
    };
}

pub static ALL: &[Scenario] = &[
    scenario!(
        "mitb-document-swap",
        ManInTheBrowser,
        [HashMismatch],
        browser::document_swap,
        "the page shows the letter, then script swaps it and confirms the hash of its own text"
    ),
    scenario!(
        "mitb-summary-swap",
        ManInTheBrowser,
        [SummaryMismatch],
        browser::summary_swap,
        "script in the page confirms the right letter with the hash of an altered summary"
    ),
    scenario!(
        "mitb-hash-of-other-request",
        ManInTheBrowser,
        [HashMismatch],
        browser::hash_of_other_request,
        "script confirms request B with the document and summary hashes of request A"
    ),
    scenario!(
        "sad-replay-same-request",
        Network,
        [SadReplayed],
        sad::replay_same_request,
        "a recorded SAD is sent again for its request with its signature malleated (s to n - s)"
    ),
    scenario!(
        "sad-replay-other-request",
        Network,
        [SadWrongRequest],
        sad::replay_other_request,
        "the SAD of a signed request is replayed for a new, web-confirmed request"
    ),
    scenario!(
        "sad-modified-claim",
        Network,
        [SadInvalid],
        sad::modified_claim,
        "the document hash inside a genuine SAD is changed; the device's signature is kept"
    ),
    scenario!(
        "sad-other-device",
        Device,
        [SadInvalid],
        sad::other_device,
        "the user's second device signs an answer in the name of the first device"
    ),
    scenario!(
        "sad-revoked-device",
        Device,
        [DeviceRevoked],
        sad::revoked_device,
        "a clone of a device the user revoked reconnects to answer a pending request"
    ),
    scenario!(
        "sad-alg-none",
        Network,
        [SadInvalid],
        sad::alg_none,
        "a SAD with `alg: none` and no signature, all claims right"
    ),
    scenario!("sad-malformed", Network, [SadInvalid], sad::malformed, "a genuine SAD with its signature cut short"),
    scenario!(
        "sad-after-expiry",
        Network,
        [ChallengeExpired],
        sad::after_expiry,
        "a genuine approval is held back and delivered after the challenge expired"
    ),
    scenario!(
        "sad-race",
        Device,
        [SadReplayed, RequestNotPending],
        sad::race,
        "two devices of the user send valid approvals for one request at the same instant"
    ),
    scenario!(
        "double-signature",
        Network,
        [RequestNotPending],
        sad::double_signature,
        "both channels confirm a signed request again, to get a second signature"
    ),
    scenario!(
        "channels-disagree",
        Device,
        [SummaryMismatch],
        channel::channels_disagree,
        "the device approves a summary other than the one the web page showed"
    ),
    scenario!(
        "device-reconnect-loop",
        Device,
        [RateLimited],
        channel::reconnect_loop,
        "a device reconnects again and again, then holds ever more sockets open"
    ),
    scenario!(
        "forged-push",
        Network,
        [SadInvalid],
        channel::forged_push,
        "a push altered on its way, and one signed by the attacker: the device must refuse both"
    ),
    scenario!(
        "device-auth-replay",
        Network,
        [Unauthenticated],
        channel::device_auth_replay,
        "a recorded device authentication is replayed on a new socket"
    ),
    scenario!(
        "push-bombing-rate-limit",
        PushBomber,
        [RateLimited],
        accounts::push_bombing_rate_limit,
        "a relying party floods one person with sign requests; at most the ceiling reaches the device"
    ),
    scenario!(
        "push-bombing-not-me",
        PushBomber,
        [AccountLockedNotMe],
        accounts::push_bombing_not_me,
        "after the person answers \"not me\", new requests and late approvals are refused"
    ),
    scenario!(
        "totp-replay",
        Network,
        [TotpReplayed],
        accounts::totp_replay,
        "a recorded log-in (password and TOTP code) is replayed from another browser"
    ),
    scenario!(
        "totp-brute-force",
        Guesser,
        [RateLimited],
        accounts::totp_brute_force,
        "with the password known, TOTP codes are guessed; then even the right code is locked out"
    ),
    scenario!(
        "session-fixation",
        Network,
        [Unauthenticated],
        accounts::session_fixation,
        "a session id planted before log-in, or seen half-way, is used after the victim logged in"
    ),
    scenario!(
        "session-replay-after-logout",
        Network,
        [Unauthenticated],
        accounts::session_replay_after_logout,
        "a recorded session cookie and CSRF token are used after the person logged out"
    ),
    scenario!(
        "csrf-web-confirmation",
        ManInTheBrowser,
        [CsrfInvalid],
        accounts::csrf_web_confirmation,
        "another site makes the logged-in browser post a confirmation without the CSRF token"
    ),
    scenario!(
        "pairing-code-reuse",
        Network,
        [PairingCodeInvalid],
        accounts::pairing_code_reuse,
        "a pairing code that paired the user's device is used again for the attacker's key"
    ),
    scenario!(
        "pairing-without-step-up",
        ManInTheBrowser,
        [StepUpRequired],
        enrolment::pairing_without_step_up,
        "script in the logged-in page asks for a pairing code for its own key, without password and code"
    ),
    scenario!(
        "mitb-pairs-first-device",
        ManInTheBrowser,
        [ActivationRequired],
        enrolment::mitb_pairs_first_device,
        "script in the page of an account without a device pairs its own key, bare and with a guessed activation code"
    ),
    scenario!(
        "mitb-pairs-beside-real-device",
        ManInTheBrowser,
        [PairingPending],
        enrolment::mitb_pairs_beside_real_device,
        "script with a stepped-up session pairs its own key; the real device is asked and answers \"not me\""
    ),
    scenario!(
        "forged-pairing-approval",
        Device,
        [PairingAnswerInvalid],
        enrolment::forged_pairing_approval,
        "a device of another account approves the attacker's pending key; a genuine approval is bent to another key"
    ),
    scenario!(
        "replayed-pairing-approval",
        Network,
        [PairingAnswerInvalid],
        enrolment::replayed_pairing_approval,
        "the recorded approval of the victim's tablet is replayed for the attacker's pending key"
    ),
    scenario!(
        "stolen-session-revokes-device",
        Network,
        [StepUpRequired],
        enrolment::stolen_session_revokes_device,
        "a copied session cookie and CSRF token revoke the victim's device to silence the second channel"
    ),
    scenario!(
        "step-up-recorded-code",
        Network,
        [TotpReplayed, TotpInvalid],
        enrolment::step_up_with_recorded_code,
        "the password and code recorded at log-in are replayed as a step-up"
    ),
    scenario!(
        "cross-user-request",
        Stranger,
        [RequestNotFound],
        parties::cross_user_request,
        "another user reads, confirms and answers (with their device) someone else's request"
    ),
    scenario!(
        "cross-user-signature",
        Stranger,
        [RequestNotFound],
        parties::cross_user_signature,
        "another user fetches someone else's signature"
    ),
    scenario!(
        "rp-foreign-request",
        RelyingParty,
        [RequestNotFound],
        parties::rp_foreign_request,
        "a relying party reads, cancels and fetches the signature of another party's request"
    ),
    scenario!(
        "rp-forged-api-key",
        RelyingParty,
        [ApiKeyInvalid],
        parties::rp_forged_api_key,
        "requests are created with a made-up, a missing and an altered API key"
    ),
    scenario!(
        "rp-media-type-not-allowed",
        RelyingParty,
        [MediaTypeNotAllowed],
        parties::rp_media_type_not_allowed,
        "a relying party allowed letters and payments sends a contract as a PDF"
    ),
    scenario!(
        "rp-look-alike-name",
        RelyingParty,
        [RpNameConfusable],
        parties::rp_look_alike_name,
        "a party registers a genuine party's name with 1 or I for l, capitalised, or with a Cyrillic letter"
    ),
    scenario!(
        "csc-hash-not-confirmed",
        RelyingParty,
        [HashNotAuthorized],
        csc::hash_not_confirmed,
        "a CSC platform holding a SAD for the hash the person confirmed sends another hash, both, and one twice"
    ),
    scenario!(
        "csc-sad-replay",
        Network,
        [HashNotAuthorized],
        csc::sad_replay,
        "a recorded signHash (SAD and hash) is sent again, and the SAD is collected a second time"
    ),
    scenario!(
        "csc-sad-other-credential",
        RelyingParty,
        [CscSadInvalid],
        csc::sad_for_another_credential,
        "a platform uses one person's SAD to sign with the credential of another person it serves"
    ),
    scenario!(
        "csc-foreign-credential",
        RelyingParty,
        [CredentialUnknown],
        csc::foreign_credential,
        "a second platform lists, describes, authorizes and signs with a credential it does not serve, and polls the first one's authorization"
    ),
    scenario!(
        "csc-web-confirmation-alone",
        ManInTheBrowser,
        [CscSadInvalid],
        csc::web_confirmation_alone,
        "script in the page confirms a CSC authorization; without the device no SAD is issued and a guessed one is refused"
    ),
    scenario!(
        "pdf-stamp-abuse",
        RelyingParty,
        [BadRequest],
        pdfs::stamp_abuse,
        "a party words a visible signature itself, puts one on a missing page or off the page, or hides one in a batch"
    ),
    scenario!(
        "csc-signdoc-unsafe-pdf",
        RelyingParty,
        [UnsafeDocument],
        csc::sign_doc_unsafe_pdf,
        "a CSC platform sends PDFs with JavaScript, actions, embedded files or XFA through signDoc"
    ),
    scenario!(
        "csc-oauth-stolen-code",
        ManInTheBrowser,
        [OAuthGrantInvalid],
        oauth::stolen_code,
        "script in the page reads the OAuth code from the address bar and redeems it with a guessed PKCE verifier"
    ),
    scenario!(
        "csc-oauth-page-alone",
        ManInTheBrowser,
        [OAuthGrantInvalid],
        oauth::page_alone,
        "script in the page consents to an OAuth credential authorization and confirms it on the Sign page; without the device no code, so no SAD"
    ),
    scenario!(
        "csc-oauth-redirect-hijack",
        Network,
        [OAuthClientInvalid],
        oauth::redirect_hijack,
        "a link sends the person to our authorization page with the attacker's redirect URI, to collect the code there"
    ),
    scenario!(
        "tsa-oracle-flood",
        Stranger,
        [RateLimited],
        pki::tsa_flood,
        "anyone asks the public time-stamping authority to sign what they choose, as fast as they can"
    ),
    scenario!(
        "ocsp-oracle-flood",
        Stranger,
        [RateLimited],
        pki::ocsp_oracle_flood,
        "anyone sends OCSP requests whose nonce is the start of a certificate, to get the CA key to sign it, as fast as they can"
    ),
    scenario!(
        "readiness-probe-flood",
        Stranger,
        [RateLimited],
        service::readiness_flood,
        "anyone probes /readyz as fast as they can, each probe a database round trip and an HSM call, and reads what it says"
    ),
    scenario!(
        "unsafe-document-bidi",
        BadInput,
        [UnsafeDocument],
        inputs::bidi_override,
        "a letter with a right-to-left override that reverses an amount on screen"
    ),
    scenario!(
        "unsafe-document-zero-width",
        BadInput,
        [UnsafeDocument],
        inputs::zero_width,
        "a letter and a relying-party document with zero-width characters inside an amount"
    ),
    scenario!(
        "invisible-characters",
        BadInput,
        [UnsafeDocument],
        inputs::invisible_characters,
        "letters with a Hangul filler, a variation selector, a tag, a blank braille pattern, an unassigned, a private-use and a format character, and a stack of five accents"
    ),
    scenario!(
        "mixed-script-payee",
        ManInTheBrowser,
        [UnsafeDocument],
        inputs::mixed_script_payee,
        "a payment to \"P\u{0430}ypal Europe\" with a Cyrillic \"\u{0430}\", from the page and from a relying party"
    ),
    scenario!(
        "pdf-active-content",
        RelyingParty,
        [UnsafeDocument],
        pdfs::active_content,
        "PDFs with JavaScript on opening, a Launch link, an /AA form submission, an attachment, XFA, a hidden layer"
    ),
    scenario!(
        "pdf-signature-attacks",
        RelyingParty,
        [DocumentInvalid],
        pdfs::signature_attacks,
        "a signature without /ByteRange, a no-changes certification, and a PDF the victim signed sent back with a \
         byte changed, its gap widened and an update that redraws the page"
    ),
    scenario!(
        "pdf-shadow",
        RelyingParty,
        [UnsafeDocument],
        pdfs::shadow,
        "a PDF hiding another page content in an unused object, and one with a fillable amount field"
    ),
    scenario!("oversized-document", BadInput, [PayloadTooLarge], inputs::oversized_document, "a 1 MiB letter"),
    scenario!("oversized-json", BadInput, [PayloadTooLarge], inputs::oversized_json, "a 256 KiB JSON confirmation"),
    scenario!(
        "malformed-input",
        BadInput,
        [BadRequest],
        inputs::malformed_input,
        "broken JSON, unknown fields in a confirmation, and garbage on the device socket"
    ),
    scenario!(
        "pairing-code-brute-force",
        Guesser,
        [RateLimited],
        accounts::pairing_code_brute_force,
        "pairing codes are guessed from one address while the victim has a valid one"
    ),
    scenario!(
        "spoofed-forwarded-address",
        Guesser,
        [RateLimited],
        accounts::spoofed_forwarded_address,
        "wrong passwords from one address, each claiming another client in X-Forwarded-For and Forwarded"
    ),
    scenario!(
        "password-spraying",
        Guesser,
        [RateLimited],
        accounts::password_spraying,
        "wrong passwords for many user names from one address"
    ),
];

/// Where most attacks start: the victim's letter, shown on their connected
/// device (and, when asked, confirmed in their browser).
struct Shown {
    victim: Victim,
    request: SignRequestView,
    device: ScriptedDevice,
    push: VerifiedChallenge,
}

impl Shown {
    async fn new(lab: &Lab, web_confirmed: bool) -> anyhow::Result<Shown> {
        let victim = lab.victim().await?;
        let request = victim.user.letter(LETTER).await?;
        if web_confirmed {
            victim.user.browser.confirm_as_displayed(&request.id).await.map_err(api)?;
        }
        let mut device = victim.device.connect().await?;
        let push = push_for(&mut device, &request.id).await;
        Ok(Shown { victim, request, device, push })
    }

    /// A genuine SAD over what the device showed.
    fn sad(&mut self, decision: Decision) -> String {
        self.device.sad(&self.push, decision)
    }

    /// Sends `token` as the answer to this request.
    async fn answer(&mut self, token: &str) -> AckOutcome {
        self.device.submit(&self.request.id, token).await
    }

    /// The person approves on the device and in the browser: signed once.
    async fn sign(lab: &Lab) -> anyhow::Result<(Shown, String)> {
        let mut shown = Shown::new(lab, false).await?;
        let sad = shown.sad(Decision::Approve);
        shown.answer(&sad).await;
        shown.victim.user.browser.confirm_as_displayed(&shown.request.id).await.map_err(api)?;
        Ok((shown, sad))
    }

    async fn signed(&self) -> anyhow::Result<bool> {
        self.victim.user.signed(&self.request.id).await
    }
}

/// The next push for `request_id`, verified as the real app verifies it.
async fn push_for(device: &mut ScriptedDevice, request_id: &str) -> VerifiedChallenge {
    loop {
        let shown = device.next_push().await;
        if shown.claims.req == request_id {
            return shown;
        }
    }
}

/// The pushes for several requests, in the order of `request_ids`,
/// whatever order they arrive in.
async fn pushes_for<const N: usize>(device: &mut ScriptedDevice, request_ids: [&str; N]) -> [VerifiedChallenge; N] {
    let mut found: [Option<VerifiedChallenge>; N] = std::array::from_fn(|_| None);
    while found.iter().any(Option::is_none) {
        let shown = device.next_push().await;
        if let Some(at) = request_ids.iter().position(|id| *id == shown.claims.req) {
            found[at] = Some(shown);
        }
    }
    found.map(|shown| shown.expect("every push arrived"))
}

/// A compact JWS with its payload edited and the original signature kept:
/// what an attacker on the wire can make without the key.
fn edit_payload(token: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next(), parts.next(), parts.next());
    let (Some(header), Some(payload), Some(signature)) = (header, payload, signature) else {
        panic!("not a compact JWS: {token}");
    };
    let bytes = b64::decode(payload).expect("base64url payload");
    let mut claims: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON payload");
    edit(&mut claims);
    let payload = b64::encode(serde_json::to_vec(&claims).expect("JSON"));
    format!("{header}.{payload}.{signature}")
}

/// The refusal in an answer, for reports.
fn refusal(outcome: &wysiwys_proto::api::AckOutcome) -> Option<ErrorCode> {
    crate::device::refused_code(outcome)
}
