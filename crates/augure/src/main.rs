//! `augure`: serves the platform, migrates its database, creates admins.
//! With no arguments it is `augure serve --demo` on `sqlite://augure.db`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use augure_adapters::{OutboxMailer, OutboxSmsSender, SmtpMailer, StripePayments, TestPayments};
use augure_app::mail::Mailer;
use augure_app::{App, Payments, Settings, SystemClock, demo};
use augure_store::Store;
use clap::{Args, Parser, Subcommand};
use secrecy::ExposeSecret;
use tokio::sync::watch;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "augure", version, about = "A live paid-consultation marketplace")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web site and the API.
    Serve(ServeArgs),
    /// Create or update the database schema, then exit.
    Migrate(DbArgs),
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Inspect the ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Replay every transfer and check that the books balance; exits 1 on any problem.
    Verify(DbArgs),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator account.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        /// Read from AUGURE_ADMIN_PASSWORD when not given, so it stays out of shell history.
        #[arg(long, env = "AUGURE_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Admin")]
        name: String,
    },
}

#[derive(Args, Clone)]
struct DbArgs {
    /// `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://augure.db")]
    database_url: String,
    /// Settings file; AUGURE_… variables override it (e.g. AUGURE_LIMITS__SIGN_IN_PER_MINUTE).
    #[arg(long, env = "AUGURE_CONFIG", default_value = "augure.toml")]
    config: PathBuf,
}

#[derive(Args, Clone)]
struct ServeArgs {
    #[arg(long, env = "AUGURE_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    #[command(flatten)]
    db: DbArgs,
    /// Fill an empty database with demo sites, experts and clients.
    #[arg(long)]
    demo: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("augure: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or_else(|| {
        Command::Serve(ServeArgs {
            bind: "127.0.0.1:8080".parse().expect("literal address"),
            db: DbArgs { database_url: "sqlite://augure.db".into(), config: "augure.toml".into() },
            demo: true,
        })
    });
    match runtime.block_on(run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("augure: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            let store = open_store(&db.database_url).await?;
            println!("database migrated ({})", store.backend());
            Ok(())
        }
        Command::Ledger { command: LedgerCommand::Verify(db) } => verify_ledger(&db).await,
        Command::Admin { command: AdminCommand::Create { db, email, password, name } } => {
            let app = build_app(&db).await?;
            let admin = app.accounts.create_admin(&email, &password, &name).await.context("cannot create admin")?;
            println!("admin {} created (id {})", admin.email, admin.id);
            Ok(())
        }
    }
}

async fn verify_ledger(db: &DbArgs) -> anyhow::Result<()> {
    let app = build_app(db).await?;
    let audit = app.ledger.verify().await.context("cannot read the ledger")?;
    println!("ledger: {} accounts, {} transfers", audit.accounts, audit.transfers);
    for (currency, (debits, credits)) in &audit.trial_balance {
        println!("{currency}: debits posted {debits}, credits posted {credits}");
    }
    if audit.problems.is_empty() {
        println!("ok: every account replays to its balance, limits held, holds resolved at most once");
        Ok(())
    } else {
        for problem in &audit.problems {
            println!("problem: {problem}");
        }
        bail!("{} problem(s) found", audit.problems.len())
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("cannot listen on {}", args.bind))?;
    let address = listener.local_addr()?;
    let (mut settings, public_url_set) = read_settings(&args.db.config)?;
    if !public_url_set {
        settings.public_url = default_public_url(address, args.demo)?;
    }
    settings.check_local_defaults(args.demo).map_err(anyhow::Error::msg)?;
    let app = build_app_with(&args.db, settings).await?;
    if args.demo && demo::seed(&app).await.context("cannot seed demo data")? {
        let funded = demo::fund_clients(&app).await.context("cannot buy the demo clients' credit")?;
        tracing::info!(funded, "demo data created");
        println!(
            "demo data: admin {} / {}; experts luna@augure.localhost … and clients claire@augure.localhost, password {}",
            demo::ADMIN_EMAIL,
            demo::ADMIN_PASSWORD,
            demo::DEMO_PASSWORD
        );
    }
    // Consultations this node left open when it stopped are settled before it serves, so
    // /readyz never answers ready with a client's money still in the air.
    let recovered = app.engine.recover().await.context("cannot settle the consultations left open")?;
    if recovered > 0 {
        tracing::info!(consultations = recovered, "interrupted consultations settled");
    }
    let (stop_jobs, jobs_stopped) = watch::channel(false);
    let worker = app.jobs.clone().spawn(jobs_stopped);
    let engine = app.engine.clone();
    let (stop_engine, engine_stopped) = tokio::sync::oneshot::channel::<()>();
    let engine_task = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(async { drop(engine_stopped.await) }).await }
    });
    let chats = app.chats.clone();
    let (stop_chats, chats_stopped) = tokio::sync::oneshot::channel::<()>();
    let chats_task = tokio::spawn({
        let chats = chats.clone();
        async move { chats.run(async { drop(chats_stopped.await) }).await }
    });
    let state = augure_web::AppState::new(app);
    tracing::info!(%address, "augure listening");
    println!("augure listening on http://{address}");
    augure_web::serve(listener, state, shutdown_signal()).await?;
    // Requests are finished; let the worker end its current job.
    let _ = stop_jobs.send(true);
    let _ = worker.await;
    let _ = stop_engine.send(());
    let _ = engine_task.await;
    // A consultation cannot outlive its node: each one ends now, settled.
    let ended = engine.end_all(augure_domain::consultation::EndReason::Interrupted).await;
    if ended > 0 {
        tracing::info!(consultations = ended, "live consultations settled at shutdown");
    }
    // Last: the chats act on those ends (experts available again, earnings mailed).
    let _ = stop_chats.send(());
    let _ = chats_task.await;
    tracing::info!("augure stopped");
    Ok(())
}

async fn build_app(db: &DbArgs) -> anyhow::Result<App> {
    build_app_with(db, load_settings(&db.config)?).await
}

/// Without a `public_url`, links point at the address the server listens on, port
/// included; a wildcard address names no host people could use, so it needs one, except
/// for a demo, which is reached on this machine.
fn default_public_url(bound: SocketAddr, demo: bool) -> anyhow::Result<String> {
    if !bound.ip().is_unspecified() {
        return Ok(format!("http://{bound}"));
    }
    if demo {
        return Ok(format!("http://127.0.0.1:{}", bound.port()));
    }
    bail!(
        "listening on {bound}, every address: set public_url (AUGURE_PUBLIC_URL) to the address people reach, \
         e.g. https://augure.example"
    )
}

async fn build_app_with(db: &DbArgs, settings: Settings) -> anyhow::Result<App> {
    let store = open_store(&db.database_url).await?;
    let mailer: Arc<dyn Mailer> = match &settings.mail.smtp {
        Some(smtp) => Arc::new(SmtpMailer::new(smtp, &settings.mail.from).map_err(anyhow::Error::msg)?),
        None => Arc::new(OutboxMailer::new(store.clone())),
    };
    let p = &settings.payments;
    let payments: Arc<dyn Payments> = match p.provider.as_str() {
        "test" => Arc::new(TestPayments::new(&settings.public_url, p.webhook_secrets.clone())),
        "stripe" => {
            let key = p.stripe_secret_key.clone().context("payments.stripe_secret_key is required with Stripe")?;
            // The test secret is public: a real provider needs its own.
            let public = p.webhook_secrets.iter().any(|s| s.expose_secret() == "whsec_augure_local_test");
            if p.webhook_secrets.is_empty() || public {
                bail!("payments.webhook_secrets must hold the Stripe endpoint's signing secret(s)");
            }
            Arc::new(
                StripePayments::new(&p.stripe_api_base, key, p.webhook_secrets.clone()).map_err(anyhow::Error::msg)?,
            )
        }
        other => bail!("unknown payments.provider {other:?}: use \"test\" or \"stripe\""),
    };
    // SMS have only their local default so far: the outbox admins read.
    let sms = Arc::new(OutboxSmsSender::new(store.clone()));
    Ok(App::new(store, Arc::new(SystemClock), mailer, sms, payments, settings))
}

/// Chooses the backend from the URL's scheme; anything else is refused, never guessed.
async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(augure_store_sqlite::connect(url).await.with_context(|| format!("cannot open {url}"))?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(augure_store_postgres::connect(url).await.context("cannot connect to PostgreSQL or migrate it")?)
    } else {
        let scheme = url.split_once(':').map_or(url, |(s, _)| s);
        bail!("unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB")
    };
    Ok(store)
}

/// Defaults, then the optional settings file, then `AUGURE_…` variables. Reads only.
fn load_settings(path: &std::path::Path) -> anyhow::Result<Settings> {
    Ok(read_settings(path)?.0)
}

/// The settings, and whether `public_url` was given (file or variable).
fn read_settings(path: &std::path::Path) -> anyhow::Result<(Settings, bool)> {
    let built = config::Config::builder()
        .add_source(config::File::from(path.to_path_buf()).format(config::FileFormat::Toml).required(false))
        .add_source(
            config::Environment::with_prefix("AUGURE")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                // List settings take comma-separated values, e.g. two webhook secrets while
                // one is rotated.
                .list_separator(",")
                .with_list_parse_key("payments.webhook_secrets")
                .with_list_parse_key("http.trusted_proxies"),
        )
        .build()
        .with_context(|| format!("cannot read settings from {}", path.display()))?;
    let public_url_set = built.get_string("public_url").is_ok();
    Ok((built.try_deserialize().context("invalid settings")?, public_url_set))
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("AUGURE_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("AUGURE_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
