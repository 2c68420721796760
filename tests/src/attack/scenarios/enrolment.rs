//! Attacks on enrolment: whoever holds the web session (a script in the
//! page, a stolen cookie) tries to change the user's devices without a
//! fresh password and authenticator code.

use crate::attack::lab::{api, code_of, log_in_patiently};
use crate::attack::{Lab, Observation, Played};
use crate::browser::totp_code;
use wysiwys_proto::ErrorCode;

/// The victim logged in and paired (which used the log-in's one device
/// change); later, script in the page asks for a pairing code for its own key.
pub fn pairing_without_step_up(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let code = v.user.browser.pairing_code().await;
        let mut o = Observation::new(code_of(&code));
        if let Ok(code) = code {
            o.require("the attacker's key is refused", lab.pair_with_code(code.code).await.is_err());
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
