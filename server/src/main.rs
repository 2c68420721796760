//! `wysiwys-server`: serve, create users, or run the demo.

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use std::io::Write;
use wysiwys_proto::admin::CredentialAction;
use wysiwys_server::accounts::{NewAccount, TotpEnrolment};
use wysiwys_server::config::{CommonConfig, ServeConfig};
use wysiwys_server::relying_parties::{self, NewRelyingParty};
use wysiwys_server::{Error, accounts, clock::SystemClock, entropy::OsEntropy};

#[derive(Parser, Debug)]
#[command(name = "wysiwys-server", version, about = "Two-channel What-You-See-Is-What-You-Sign server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the web API and the device socket.
    Serve(ServeConfig),
    /// Create a user: prints the password, the otpauth:// URI and a QR code.
    CreateUser {
        #[command(flatten)]
        common: CommonConfig,
        username: String,
        /// File whose first line is the password; a random one is made otherwise.
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
        /// The number relying parties know this person by (a customer number).
        #[arg(long)]
        external_id: Option<String>,
        /// A relying party (its id) that may use this person's credential
        /// through the CSC API; repeatable. (An id may begin with '-'.)
        #[arg(long = "relying-party", allow_hyphen_values = true)]
        relying_parties: Vec<String>,
        /// Print the credentials as JSON (for scripts and tests).
        #[arg(long)]
        json: bool,
    },
    /// Create a relying party (a bank, an agency): prints its API key once.
    CreateRp {
        #[command(flatten)]
        common: CommonConfig,
        /// Shown to the person on both channels as the one who asks.
        name: String,
        /// Media types it may send, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "application/vnd.wysiwys.payment+json")]
        media_types: Vec<String>,
        /// Where final states are POSTed (https, or http to loopback).
        #[arg(long)]
        webhook_url: Option<String>,
        /// File whose first line is the webhook HMAC secret; a random one is made otherwise.
        #[arg(long)]
        webhook_secret_file: Option<std::path::PathBuf>,
        /// An exact redirect URI for the CSC API's oauth2/authorize; repeatable.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// The level of its requests that name none (B-B, B-T, B-LT, B-LTA);
        /// the server's --signature-level otherwise.
        #[arg(long, value_parser = wysiwys_server::config::parse_level)]
        signature_level: Option<wysiwys_proto::signature_level::SignatureLevel>,
        /// Print the credentials as JSON (for scripts and tests).
        #[arg(long)]
        json: bool,
    },
    /// Lets a relying party use an existing person's credential through the CSC API.
    LinkUser {
        #[command(flatten)]
        common: CommonConfig,
        username: String,
        /// The relying party's id (printed by create-rp; it may begin with '-').
        #[arg(long = "relying-party", allow_hyphen_values = true)]
        relying_party: String,
    },
    /// Recovery for a person who lost every device: revokes all of the
    /// account's devices and prints a new activation code to deliver out of band.
    RecoverUser {
        #[command(flatten)]
        common: CommonConfig,
        username: String,
        /// Print the result as JSON (for scripts and tests).
        #[arg(long)]
        json: bool,
    },
    /// Revokes a person's signing certificate for good: nothing is signed
    /// with it again, their open requests end, the CRL and OCSP say so.
    RevokeCredential {
        #[command(flatten)]
        common: CommonConfig,
        username: String,
        /// RFC 5280 reason: unspecified, keyCompromise, affiliationChanged,
        /// superseded, cessationOfOperation or privilegeWithdrawn.
        #[arg(long, default_value = "unspecified")]
        reason: wysiwys_proto::admin::RevocationReason,
        #[arg(long)]
        json: bool,
    },
    /// Suspends a person's signing certificate (certificateHold) until resumed.
    SuspendCredential {
        #[command(flatten)]
        common: CommonConfig,
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// A new certificate for the same HSM key, valid from now.
    RenewCredential {
        #[command(flatten)]
        common: CommonConfig,
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Ends the suspension of a person's signing certificate.
    ResumeCredential {
        #[command(flatten)]
        common: CommonConfig,
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Demo: create the user `demo` on first start, print its credentials, serve.
    Demo(ServeConfig),
}

impl Command {
    fn common(&self) -> &CommonConfig {
        match self {
            Command::Serve(c) | Command::Demo(c) => &c.common,
            Command::CreateUser { common, .. }
            | Command::CreateRp { common, .. }
            | Command::LinkUser { common, .. }
            | Command::RecoverUser { common, .. }
            | Command::RevokeCredential { common, .. }
            | Command::SuspendCredential { common, .. }
            | Command::ResumeCredential { common, .. }
            | Command::RenewCredential { common, .. } => common,
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let common = cli.command.common();
    if common.hsm.is_softhsm() && std::env::var_os("SOFTHSM2_CONF").is_none() {
        match wysiwys_server::hsm::softhsm::prepare(&common.data_dir) {
            // SAFETY: no other thread exists yet (no runtime, no HSM), and
            // SoftHSM2 reads this variable when the module is initialised.
            #[allow(unsafe_code)]
            Ok(conf) => unsafe { std::env::set_var("SOFTHSM2_CONF", conf) },
            Err(e) => {
                eprintln!("error: cannot prepare SoftHSM2 in {}: {e}", common.data_dir.display());
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let result = actix_web::rt::System::new().block_on(run(cli.command));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = ?e, "fatal");
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), Error> {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().ok();
    match command {
        Command::Serve(config) => {
            let (store, hsm) = wysiwys_server::open_backends(&config.common).await?;
            wysiwys_server::serve(&config, store, hsm, metrics).await
        }
        Command::Demo(config) => {
            let (store, hsm) = wysiwys_server::open_backends(&config.common).await?;
            if store.user_by_username("demo").await?.is_none() {
                let created = accounts::create_user(
                    &store,
                    hsm.clone(),
                    &SystemClock,
                    &OsEntropy,
                    NewAccount {
                        username: "demo",
                        password: None,
                        enrolment: TotpEnrolment::Active,
                        external_id: None,
                        relying_parties: &[],
                    },
                )
                .await?;
                print_account(&created, false);
            } else {
                println!("user \"demo\" exists already; its password was printed on first start");
            }
            wysiwys_server::serve(&config, store, hsm, metrics).await
        }
        Command::CreateUser { common, username, password_file, external_id, relying_parties, json } => {
            let (store, hsm) = wysiwys_server::open_backends(&common).await?;
            let password = password_file.as_deref().map(secret_file).transpose()?;
            let created = accounts::create_user(
                &store,
                hsm,
                &SystemClock,
                &OsEntropy,
                NewAccount {
                    username: &username,
                    password,
                    enrolment: TotpEnrolment::Active,
                    external_id: external_id.as_deref(),
                    relying_parties: &relying_parties,
                },
            )
            .await?;
            print_account(&created, json);
            Ok(())
        }
        Command::LinkUser { common, username, relying_party } => {
            let (store, _hsm) = wysiwys_server::open_backends(&common).await?;
            relying_parties::link_user(&store, &SystemClock, &relying_party, &username).await?;
            println!("{relying_party} may now use the credential of {username:?} through the CSC API");
            Ok(())
        }
        Command::RecoverUser { common, username, json } => {
            let (store, _hsm) = wysiwys_server::open_backends(&common).await?;
            let recovered = wysiwys_server::admin::recover_user(&store, &SystemClock, &OsEntropy, &username).await?;
            let mut out = std::io::stdout().lock();
            if json {
                let _ = writeln!(out, "{}", serde_json::to_string(&recovered).unwrap_or_default());
            } else {
                let _ = writeln!(
                    out,
                    "\nRecovered {:?}: {} devices revoked.\n  activation code: {}  (valid until {})\n\n\
                     Deliver it out of band (a letter, your app); the person types it into their new device.\n",
                    recovered.username,
                    recovered.devices_revoked,
                    recovered.activation_code,
                    wysiwys_proto::time::format_utc(recovered.activation_expires_at.div_euclid(1000)),
                );
            }
            Ok(())
        }
        Command::RevokeCredential { common, username, reason, json } => {
            change_credential(&common, &username, CredentialAction::Revoke, Some(reason), json).await
        }
        Command::SuspendCredential { common, username, json } => {
            change_credential(&common, &username, CredentialAction::Suspend, None, json).await
        }
        Command::ResumeCredential { common, username, json } => {
            change_credential(&common, &username, CredentialAction::Resume, None, json).await
        }
        Command::RenewCredential { common, username, json } => {
            change_credential(&common, &username, CredentialAction::Renew, None, json).await
        }
        Command::CreateRp {
            common,
            name,
            media_types,
            webhook_url,
            webhook_secret_file,
            redirect_uris,
            signature_level,
            json,
        } => {
            let (store, _hsm) = wysiwys_server::open_backends(&common).await?;
            let created = relying_parties::create_relying_party(
                &store,
                &SystemClock,
                &OsEntropy,
                NewRelyingParty {
                    name: &name,
                    media_types: &media_types,
                    webhook_url: webhook_url.as_deref(),
                    webhook_secret: webhook_secret_file.as_deref().map(secret_file).transpose()?,
                    redirect_uris: &redirect_uris,
                    signature_level,
                },
            )
            .await?;
            print_relying_party(&created, json);
            Ok(())
        }
    }
}

async fn change_credential(
    common: &CommonConfig,
    username: &str,
    action: CredentialAction,
    reason: Option<wysiwys_proto::admin::RevocationReason>,
    json: bool,
) -> wysiwys_server::Result<()> {
    let (store, hsm) = wysiwys_server::open_backends(common).await?;
    let state = match action {
        CredentialAction::Renew => {
            wysiwys_server::credentials::renew(&store, &hsm, &SystemClock, &OsEntropy, username).await?
        }
        _ => {
            let change = wysiwys_proto::admin::CredentialChange { action, reason };
            wysiwys_server::credentials::change(&store, &SystemClock, username, &change).await?
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string(&state).unwrap_or_default());
    } else {
        let _ = writeln!(
            out,
            "The certificate {} of {:?} is {} now; {} open requests ended.",
            state.serial, state.username, state.status, state.requests_ended
        );
    }
    Ok(())
}

/// Shown once, on the operator's terminal; never logged.
fn print_relying_party(rp: &relying_parties::CreatedRelyingParty, json: bool) {
    let mut out = std::io::stdout().lock();
    let credentials = wysiwys_server::admin::relying_party_credentials(rp);
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string(&credentials).unwrap_or_default());
        return;
    }
    let _ = writeln!(
        out,
        "\nCreated relying party {:?}\n  API key:         {}\n  webhook secret:  {}\n\nThe API key is shown only now; \
         send it as \"Authorization: Bearer <key>\" to /api/v1/rp/.\n",
        credentials.name,
        credentials.api_key,
        credentials.webhook_secret.as_deref().unwrap_or("(no webhook)"),
    );
}

fn secret_file(path: &std::path::Path) -> Result<secrecy::SecretString, Error> {
    wysiwys_server::hsm::softhsm::pin_file(path, false)
        .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?
        .ok_or_else(|| Error::Internal(format!("{} does not exist", path.display())))
}

/// Shown once, on the operator's terminal; never logged.
fn print_account(a: &accounts::CreatedAccount, json: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        let credentials = wysiwys_server::admin::user_credentials(a);
        let _ = writeln!(out, "{}", serde_json::to_string(&credentials).unwrap_or_default());
        return;
    }
    let qr = qrcode::QrCode::new(a.otpauth_uri.expose_secret().as_bytes())
        .map(|code| {
            code.render::<qrcode::render::unicode::Dense1x2>()
                .dark_color(qrcode::render::unicode::Dense1x2::Light)
                .light_color(qrcode::render::unicode::Dense1x2::Dark)
                .build()
        })
        .unwrap_or_default();
    let activation = a.activation.as_ref().map_or_else(String::new, |i| {
        format!(
            "  activation code: {}  (for the first device; deliver it out of band, e.g. by letter)\n",
            i.code.expose_secret()
        )
    });
    let _ = writeln!(
        out,
        "\nCreated user {:?}\n  password:     {}\n  TOTP secret:  {}\n  otpauth URI:  {}\n{activation}\nScan with an authenticator app:\n{qr}\n",
        a.username,
        a.password.expose_secret(),
        a.totp_secret_base32.expose_secret(),
        a.otpauth_uri.expose_secret(),
    );
}
