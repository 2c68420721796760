//! Attacks on people and their accounts: push bombing, guessing and
//! replaying codes, planted sessions, cross-site posts, pairing codes.

use super::{pushes_for, refusal};
use crate::attack::Lab;
use crate::attack::lab::{
    LETTER, PUSH_CEILING, PUSH_REFILL_S, RATE_LIMIT_PATIENCE, api, code_of, is_address_limit, log_in_patiently,
    rand_bytes, rp_letter,
};
use crate::attack::{Observation, Played};
use crate::browser::{ApiResult, decode, hidden_field, session_cookie, totp_code};
use crate::relying_party::Bank;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::{LoginRequest, LoginResponse, WebConfirmation};
use wysiwys_proto::rp::RpRequestView;
use wysiwys_proto::sad::Decision;

/// More attempts than any sane limit allows; the scenario fails if none is refused.
const GUESS_BUDGET: usize = 3_000;

async fn bank_letter(bank: &Bank, username: &str) -> ApiResult<RpRequestView> {
    bank.create(&rp_letter(username, LETTER), None).await
}

pub fn push_bombing_rate_limit(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let bank = lab.relying_party().await?;
        let username = v.user.credentials.username.clone();
        let started = std::time::Instant::now();
        let mut created = 0usize;
        let mut refused = None;
        while refused.is_none() && created < GUESS_BUDGET {
            let burst = futures_util::future::join_all((0..16).map(|_| bank_letter(&bank, &username))).await;
            for answer in burst {
                match answer {
                    Ok(_) => created += 1,
                    Err(e) => refused = refused.or(Some(e.code())),
                }
            }
        }
        let mut o = Observation::new(refused);
        // The bucket refills while we bomb; on a slow machine that is a few more.
        let allowed = PUSH_CEILING + usize::try_from(started.elapsed().as_secs() / PUSH_REFILL_S).unwrap_or(usize::MAX);
        o.require(&format!("at most {allowed} requests got through, not {created}"), created <= allowed);
        o.require("the limit let some requests through first", created > 0);
        // The person's phone comes online: what reaches it is the ceiling.
        let mut device = v.device.connect().await?;
        let pushed = device.pushed_on_connect().await.len();
        o.require(&format!("{pushed} pushes reached the device for {created} requests"), pushed == created);
        o.signature_produced = v.user.anything_signed().await?;
        Ok(o)
    })
}

pub fn push_bombing_not_me(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let bank = lab.relying_party().await?;
        let username = v.user.credentials.username.clone();
        let earlier = bank_letter(&bank, &username).await.map_err(api)?;
        let bomb = bank_letter(&bank, &username).await.map_err(api)?;
        let mut device = v.device.connect().await?;
        let [shown_earlier, shown] = pushes_for(&mut device, [&earlier.id, &bomb.id]).await;
        let not_me = device.sad(&shown, Decision::NotMe);
        let mut o = Observation::new(None);
        device.submit(&bomb.id, &not_me).await;
        let ended = v.user.browser.request(&bomb.id).await.map_err(api)?.error.map(|e| e.error);
        o.expect("the request answered \"not me\"", ended, ErrorCode::AccountLockedNotMe);
        o.observed = code_of(&bank_letter(&bank, &username).await);
        // The person, worn down, approves the earlier request on both channels.
        let web = v.user.browser.confirm_as_displayed(&earlier.id).await;
        let approval = device.sad(&shown_earlier, Decision::Approve);
        let late = device.submit(&earlier.id, &approval).await;
        o.require(
            "an approval of an earlier request is refused while locked",
            web.is_err() || refusal(&late) == Some(ErrorCode::AccountLockedNotMe),
        );
        o.signature_produced = v.user.anything_signed().await?;
        Ok(o)
    })
}

pub fn totp_replay(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let credentials = lab.account().await?;
        let code = totp_code(&credentials.totp_secret, crate::system_now_s());
        let mut victim = lab.browser();
        log_in_patiently(&mut victim, &credentials, || code.clone()).await.map_err(api)?;
        let mut attacker = lab.browser();
        let replayed = log_in_patiently(&mut attacker, &credentials, || code.clone()).await;
        let mut o = Observation::new(code_of(&replayed));
        let me = attacker.client.get(attacker.url("/api/me")).send().await?;
        o.require("the attacker has no session", me.status() == 401);
        Ok(o)
    })
}

/// Six-digit codes that are none of the codes valid around now.
fn wrong_codes(secret: &str, count: usize) -> Vec<String> {
    let now = crate::system_now_s();
    let valid: Vec<String> = (-2..=2).map(|step| totp_code(secret, now + step * 30)).collect();
    (0..)
        .map(|i: u32| format!("{:06}", (u32::from_be_bytes(rand_bytes::<4>()) ^ i) % 1_000_000))
        .filter(|c| !valid.contains(c))
        .take(count)
        .collect()
}

pub fn totp_brute_force(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let credentials = lab.account().await?;
        let mut attacker = lab.browser();
        let mut o = Observation::new(None);
        let mut judged_wrong = 0;
        for guess in wrong_codes(&credentials.totp_secret, 8) {
            match log_in_patiently(&mut attacker, &credentials, || guess.clone()).await {
                Ok(_) => o.problems.push("a wrong code logged in".into()),
                Err(e) if e.code() == ErrorCode::TotpInvalid => judged_wrong += 1,
                Err(_) => {}
            }
        }
        o.require("the first guesses were judged (TOTP_INVALID) before the lock", judged_wrong > 0);
        // The right code, once the account is locked.
        let code = totp_code(&credentials.totp_secret, crate::system_now_s());
        let answer = log_in_patiently(&mut attacker, &credentials, || code.clone()).await;
        o.require(
            "the right code is refused by the account lock",
            answer.as_ref().is_err_and(|e| !is_address_limit(e)),
        );
        o.observed = code_of(&answer);
        Ok(o)
    })
}

/// Sends a request again while the answer is 429: a per-address limit that
/// an earlier scenario emptied, waited out as a person would.
async fn send_patiently(request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
    let patience = tokio::time::Instant::now() + RATE_LIMIT_PATIENCE;
    loop {
        let attempt = request.try_clone().ok_or_else(|| anyhow::anyhow!("a streamed body cannot be sent again"))?;
        let answer = attempt.send().await?;
        if answer.status() != 429 || tokio::time::Instant::now() >= patience {
            return Ok(answer);
        }
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
}

async fn me_with(lab: &Lab, cookie: &str) -> anyhow::Result<Option<ErrorCode>> {
    let response = lab.client().get(format!("{}/api/me", lab.origin)).header("cookie", cookie).send().await?;
    Ok(code_of(&decode::<serde_json::Value>(response).await))
}

pub fn session_fixation(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let credentials = lab.account().await?;
        let planted = format!("wysiwys_session={}", wysiwys_proto::b64::encode(rand_bytes::<32>()));
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let url: reqwest::Url = lab.origin.parse()?;
        jar.add_cookie_str(&format!("{planted}; Path=/"), &url);
        let victim = lab.client_builder().cookie_provider(jar).redirect(reqwest::redirect::Policy::none()).build()?;
        let at = |path: &str| format!("{}{path}", lab.origin);
        // The victim logs in through the web form, with the planted cookie in the jar.
        let form = victim.get(at("/login")).send().await?.text().await?;
        let token =
            hidden_field(&form, "form_token").ok_or_else(|| anyhow::anyhow!("no form token in the log-in page"))?;
        let form =
            [("form_token", token.as_str()), ("username", &credentials.username), ("password", &credentials.password)];
        let step_one = send_patiently(victim.post(at("/login")).form(&form)).await?;
        let half_way = session_cookie(&step_one).ok_or_else(|| anyhow::anyhow!("no session after the password"))?;
        let code_page = victim.get(at("/login/code")).send().await?.text().await?;
        let csrf = hidden_field(&code_page, "csrf").ok_or_else(|| anyhow::anyhow!("no CSRF field in the code page"))?;
        let code = totp_code(&credentials.totp_secret, crate::system_now_s());
        let step_two =
            victim.post(at("/login/code")).form(&[("csrf", csrf.as_str()), ("code", code.as_str())]).send().await?;
        let full = session_cookie(&step_two).ok_or_else(|| anyhow::anyhow!("no session after the code"))?;
        let mut o = Observation::new(me_with(lab, &planted).await?);
        o.expect(
            "the session id seen after the password step",
            me_with(lab, &half_way).await?,
            ErrorCode::Unauthenticated,
        );
        o.require("the victim is logged in with a new session id", me_with(lab, &full).await?.is_none());
        o.require("the new id is not the planted one", full != planted && full != half_way);
        Ok(o)
    })
}

pub fn session_replay_after_logout(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let credentials = lab.account().await?;
        let code = totp_code(&credentials.totp_secret, crate::system_now_s());
        let body = LoginRequest { username: credentials.username.clone(), password: credentials.password, totp: code };
        let login = send_patiently(lab.client().post(format!("{}/api/session", lab.origin)).json(&body)).await?;
        // What a network attacker (or malware in the browser) records: the cookie and the CSRF token.
        let cookie = session_cookie(&login).ok_or_else(|| anyhow::anyhow!("no session cookie after log-in"))?;
        let csrf = decode::<LoginResponse>(login).await.map_err(api)?.csrf_token;
        let mut o = Observation::new(None);
        o.require("the recorded session works before the log-out", me_with(lab, &cookie).await?.is_none());
        let logout = lab
            .client()
            .delete(format!("{}/api/session", lab.origin))
            .header("cookie", &cookie)
            .header(wysiwys_proto::api::CSRF_HEADER, &csrf)
            .send()
            .await?;
        o.require("the person logged out", logout.status().is_success());
        let upload = lab
            .client()
            .post(format!("{}/api/requests", lab.origin))
            .header("cookie", &cookie)
            .header(wysiwys_proto::api::CSRF_HEADER, &csrf)
            .header("content-type", "text/plain; charset=utf-8")
            .body(LETTER)
            .send()
            .await?;
        o.observed = code_of(&decode::<serde_json::Value>(upload).await);
        o.expect("reading with the old cookie", me_with(lab, &cookie).await?, ErrorCode::Unauthenticated);
        Ok(o)
    })
}

pub fn csrf_web_confirmation(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let r = v.user.letter(LETTER).await?;
        let confirmation = WebConfirmation { doc_hash: r.doc_hash.clone(), summary_hash: r.summary_hash.clone() };
        let url = v.user.browser.url(&format!("/api/requests/{}/confirm", r.id));
        // The browser sends the victim's cookies; the other site cannot read the token.
        let no_token = v
            .user
            .browser
            .client
            .post(&url)
            .header("origin", "https://attacker.example")
            .json(&confirmation)
            .send()
            .await?;
        let mut o = Observation::new(code_of(&decode::<serde_json::Value>(no_token).await));
        let guessed = v
            .user
            .browser
            .client
            .post(&url)
            .header(wysiwys_proto::api::CSRF_HEADER, wysiwys_proto::b64::encode(rand_bytes::<32>()))
            .json(&confirmation)
            .send()
            .await?;
        o.expect("a guessed token", code_of(&decode::<serde_json::Value>(guessed).await), ErrorCode::CsrfInvalid);
        o.require("the request is not web-confirmed", v.user.untouched(&r.id).await?);
        o.signature_produced = v.user.signed(&r.id).await?;
        Ok(o)
    })
}

pub fn pairing_code_reuse(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let user = lab.user().await?;
        let code = user.browser.pairing_code().await.map_err(api)?;
        let activation = user.credentials.activation_code.clone();
        lab.pair_key(&lab.attacker_key(), code.code.clone(), activation.clone()).await.map_err(api)?;
        let reused = lab.pair_key(&lab.attacker_key(), code.code, activation).await;
        let mut o = Observation::new(code_of(&reused));
        o.require("the account has one device", user.browser.devices().await.map_err(api)?.len() == 1);
        Ok(o)
    })
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ234567";

fn random_pairing_code() -> String {
    let symbols: String =
        rand_bytes::<10>().iter().map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char).collect();
    format!("{}-{}", &symbols[..5], &symbols[5..])
}

pub fn pairing_code_brute_force(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let user = lab.user().await?;
        user.browser.pairing_code().await.map_err(api)?;
        let mut o = Observation::new(None);
        let mut guesses = 0;
        'guessing: while guesses < GUESS_BUDGET {
            let burst =
                futures_util::future::join_all((0..16).map(|_| lab.pair_with_code(random_pairing_code()))).await;
            for answer in burst {
                guesses += 1;
                match answer {
                    Ok(_) => o.problems.push("a guessed code paired a device".into()),
                    Err(e) if e.code() == ErrorCode::PairingCodeInvalid => {}
                    Err(e) => {
                        o.observed = Some(e.code());
                        break 'guessing;
                    }
                }
            }
        }
        o.require("the account has no device", user.browser.devices().await.map_err(api)?.is_empty());
        Ok(o)
    })
}

pub fn password_spraying(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let mut o = Observation::new(None);
        let mut attacker = lab.browser();
        // Names the server cannot tell from real ones: only the address limit can stop this.
        for _ in 0..GUESS_BUDGET {
            let username = lab.name("sprayed");
            match attacker.login_with(&username, "Winter2026!", "000000").await {
                Ok(_) => o.problems.push(format!("{username} logged in with a guessed password")),
                Err(e) if e.code() == ErrorCode::LoginFailed => {}
                Err(e) => {
                    o.observed = Some(e.code());
                    break;
                }
            }
        }
        Ok(o)
    })
}

/// Log-in attempts one address may fail before it is stopped (PROTOCOL.md
/// §14, the default of `--login-rate-per-minute`), and the refill of that
/// bucket: one more attempt every this many seconds.
const LOGIN_CEILING: usize = 20;
const LOGIN_REFILL_S: u64 = 3;

pub fn spoofed_forwarded_address(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let mut o = Observation::new(None);
        let mut attacker = lab.browser();
        let started = std::time::Instant::now();
        let mut failed = 0usize;
        // Each guess claims another client address, as if a proxy had seen it.
        for guess in 0..GUESS_BUDGET {
            let [a, b] = u16::try_from(guess).unwrap_or(u16::MAX).to_be_bytes();
            let claimed = std::net::IpAddr::from([198, 18, a, b]);
            let username = lab.name("spoofed");
            match attacker.login_claiming(claimed, &username, "Winter2026!", "000000").await {
                Ok(_) => o.problems.push(format!("{username} logged in with a guessed password")),
                Err(e) if e.code() == ErrorCode::LoginFailed => failed += 1,
                Err(e) => {
                    o.observed = Some(e.code());
                    break;
                }
            }
        }
        let allowed =
            LOGIN_CEILING + usize::try_from(started.elapsed().as_secs() / LOGIN_REFILL_S).unwrap_or(usize::MAX);
        o.require(
            &format!("{failed} guesses under made-up addresses before the limit, more than {allowed}"),
            failed <= allowed,
        );
        Ok(o)
    })
}
