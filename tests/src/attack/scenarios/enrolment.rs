//! Attacks on enrolment: whoever holds the web session (a script in the
//! page, a stolen cookie) tries to change the user's devices without a
//! fresh password and authenticator code.

use crate::attack::lab::{Device, User, api, code_of, log_in_patiently};
use crate::attack::{Lab, Observation, Played};
use crate::browser::totp_code;
use crate::device::{ScriptedDevice, pairing_refused_code};
use anyhow::Result;
use p256::ecdsa::SigningKey;
use wysiwys_confirm::store::Account;
use wysiwys_proto::api::{PairDeviceResponse, PairingOutcome, PairingStatus};
use wysiwys_proto::sad::Decision;
use wysiwys_proto::{ErrorCode, Jwk};

/// The attacker's own key paired into `user`'s account through the page
/// (after a step-up: the strongest man in the browser saw password and code).
async fn attacker_pairs(lab: &Lab, user: &User, key: &SigningKey) -> Result<PairDeviceResponse> {
    let code = lab.pairing_code(user).await?;
    lab.pair_key(key, code.code, None).await.map_err(api)
}

/// The attacker's device as its own app would store it.
fn attacker_account(paired: &PairDeviceResponse) -> Account {
    Account {
        server_origin: paired.server_origin.clone(),
        device_id: paired.device_id.clone(),
        device_name: "attacker".into(),
        user_id: paired.user_id.clone(),
        username: paired.username.clone(),
        channel_key: paired.channel_key.clone(),
        counter: 0,
    }
}

/// Whether a device socket authenticates; the refusal code if not.
async fn socket_refusal(lab: &Lab, account: Account, key: SigningKey) -> Option<ErrorCode> {
    ScriptedDevice::connect_with(account, key, lab.tls()).await.err().map(|e| e.error)
}

/// A fresh account: logged in, no device yet. The page's script pairs its
/// own key, first bare, then with a guessed activation code.
pub fn mitb_pairs_first_device(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let user = lab.user().await?;
        let code = user.browser.pairing_code().await.map_err(api)?; // the log-in's own change
        let bare = lab.pair_with_code(code.code.clone()).await;
        let mut o = Observation::new(code_of(&bare));
        let guessed = lab.pair_key(&lab.attacker_key(), code.code.clone(), Some("ABCDE-FGHJK-MNPQR".into())).await;
        o.expect("a guessed activation code", code_of(&guessed), ErrorCode::ActivationCodeInvalid);
        let again = lab.pair_key(&lab.attacker_key(), code.code, Some("ABCDE-FGHJK-MNPQS".into())).await;
        o.expect("a second guess with the same pairing code", code_of(&again), ErrorCode::PairingCodeInvalid);
        o.require("the account has no device", user.browser.devices().await.map_err(api)?.is_empty());
        Ok(o)
    })
}

/// The victim has a device. The page's script pairs its own key beside it;
/// the key waits for an approval, the victim's device is asked (and shows
/// the attacker's key thumbprint and address), and answers "not me".
pub fn mitb_pairs_beside_real_device(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let mut real = v.device.connect().await?;
        let key = lab.attacker_key();
        let paired = attacker_pairs(lab, &v.user, &key).await?;
        let account = attacker_account(&paired);
        let mut o = Observation::new(socket_refusal(lab, account.clone(), key.clone()).await);
        o.require("the attacker's pairing awaits approval", paired.status == PairingStatus::AwaitingApproval);
        let shown = real.next_pairing_request().await;
        let thumbprint = Jwk::from_verifying_key(key.verifying_key()).thumbprint();
        o.require("the real device is shown the attacker's key", shown.claims.jkt == thumbprint);
        o.require("and where the pairing came from", !shown.claims.addr.is_empty());
        let not_me = real.pairing_answer(&shown, Decision::NotMe);
        let answer = real.submit_pairing(&shown.claims.pairing, &not_me).await;
        o.require("\"not me\" locks the account", answer == PairingOutcome::Locked);
        o.expect(
            "the attacker's device after \"not me\"",
            socket_refusal(lab, account, key).await,
            ErrorCode::DeviceRevoked,
        );
        let after = v.user.browser.upload_letter("Pay the attacker").await;
        o.expect("a sign request after \"not me\"", code_of(&after), ErrorCode::AccountLockedNotMe);
        Ok(o)
    })
}

/// A device of another account (the attacker's own, legitimately paired)
/// approves the attacker's pending key in the victim's account; and a
/// genuine device's answer is bent to another key.
pub fn forged_pairing_approval(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let attacker = lab.victim().await?;
        let key = lab.attacker_key();
        let paired = attacker_pairs(lab, &v.user, &key).await?;
        let mut real = v.device.connect().await?;
        let shown = real.next_pairing_request().await;
        let mut foreign = attacker.device.connect().await?;
        let forged = foreign.pairing_answer(&shown, Decision::Approve);
        let answer = foreign.submit_pairing(&paired.device_id, &forged).await;
        let mut o = Observation::new(pairing_refused_code(&answer));
        let mut bent = shown.clone();
        bent.claims.jkt = Jwk::from_verifying_key(lab.attacker_key().verifying_key()).thumbprint();
        let bent_answer = real.pairing_answer(&bent, Decision::Approve);
        let refused = real.submit_pairing(&paired.device_id, &bent_answer).await;
        o.expect("an approval naming another key", pairing_refused_code(&refused), ErrorCode::PairingAnswerInvalid);
        let still = socket_refusal(lab, attacker_account(&paired), key).await;
        o.expect("the attacker's device after the forgeries", still, ErrorCode::PairingPending);
        Ok(o)
    })
}

/// A recorded approval (of the victim's own new tablet) is replayed for
/// the attacker's pending key; the identical approval re-sent gets the same
/// answer and approves nothing new.
pub fn replayed_pairing_approval(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let mut real = v.device.connect().await?;
        let tablet = tablet_pairs(lab, &v.user).await?;
        let shown = real.next_pairing_request().await;
        let recorded = real.pairing_answer(&shown, Decision::Approve);
        let first = real.submit_pairing(&shown.claims.pairing, &recorded).await;
        let key = lab.attacker_key();
        let paired = attacker_pairs(lab, &v.user, &key).await?;
        real.next_pairing_request().await;
        let replayed = real.submit_pairing(&paired.device_id, &recorded).await;
        let mut o = Observation::new(pairing_refused_code(&replayed));
        o.require("the tablet was approved", first == PairingOutcome::Approved && tablet.connect().await.is_ok());
        let resent = real.submit_pairing(&shown.claims.pairing, &recorded).await;
        o.require("the identical answer re-sent gets the same answer", resent == PairingOutcome::Approved);
        let still = socket_refusal(lab, attacker_account(&paired), key).await;
        o.expect("the attacker's device after the replay", still, ErrorCode::PairingPending);
        Ok(o)
    })
}

/// The victim's own second device, paired (awaiting approval) but not yet approved.
async fn tablet_pairs(lab: &Lab, user: &User) -> Result<Device> {
    lab.pair_pending(user).await
}

/// The victim logged in and paired (which used the log-in's one device
/// change); later, script in the page asks for a pairing code for its own key.
pub fn pairing_without_step_up(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let code = v.user.browser.pairing_code().await;
        let mut o = Observation::new(code_of(&code));
        if let Ok(code) = code {
            let paired = lab.pair_with_code(code.code).await;
            o.require("the attacker's key is not active", !paired.is_ok_and(|p| p.status == PairingStatus::Active));
        }
        o.require("the account has one device", v.user.browser.devices().await.map_err(api)?.len() == 1);
        Ok(o)
    })
}

/// A copied session cookie and CSRF token revoke the victim's device, to
/// cut the person off from the channel that would warn them.
pub fn stolen_session_revokes_device(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let revoked = v.user.browser.revoke(&v.device.account.device_id).await;
        let mut o = Observation::new(code_of(&revoked));
        let devices = v.user.browser.devices().await.map_err(api)?;
        o.require("the device is still active", devices.iter().all(|d| !d.revoked));
        o.require("the device still connects", v.device.connect().await.is_ok());
        Ok(o)
    })
}

/// A recorder of the log-in (password and code) replays both as a step-up.
pub fn step_up_with_recorded_code(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let credentials = lab.account().await?;
        let recorded = totp_code(&credentials.totp_secret, crate::system_now_s());
        let mut browser = lab.browser();
        log_in_patiently(&mut browser, &credentials, || recorded.clone()).await.map_err(api)?;
        browser.pairing_code().await.map_err(api)?; // the log-in's own change
        let replayed = browser.step_up_with(&credentials.password, &recorded).await;
        let mut o = Observation::new(code_of(&replayed));
        o.expect("a pairing code after the replay", code_of(&browser.pairing_code().await), ErrorCode::StepUpRequired);
        Ok(o)
    })
}
