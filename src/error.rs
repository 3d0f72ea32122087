//! The one error type of the service and its mapping to GraphQL error codes.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql turns
//! any `Display` error into a message on `?`, which would drop the code (and,
//! for a database error, leak SQL). The explicit `From<AppError>` below is the
//! only way an `AppError` becomes a GraphQL error.
use std::fmt;
use std::time::Duration;

use async_graphql::ErrorExtensions;
use sea_orm::{sqlx, ConnAcquireErr, DbErr, RuntimeErr, SqlErr};

#[derive(Clone, PartialEq, Eq)]
pub enum AppError {
    NotFound(String),
    BadInput(String),
    Unauthenticated(String),
    Forbidden(String),
    Conflict(String),
    TooComplex(String),
    /// Ran past a time limit (the request's, or a database statement's) and
    /// was stopped; reported as `QUERY_TOO_COMPLEX`, since the client's remedy
    /// is a cheaper request.
    Timeout(String),
    /// Over the client's rate limit; the client may retry after the wait.
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    /// A part of the service is not ready yet (the search index's first
    /// build); the client may retry shortly.
    Unavailable(String),
    /// A request named a persisted query by a hash this instance does not
    /// hold: the client sends the document again with its hash (Apollo's
    /// automatic persisted queries).
    PersistedQueryNotFound,
    /// The cause has been logged where the error was made; clients only
    /// learn that something went wrong on our side.
    Internal,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput(message.into())
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: Duration) -> Self {
        Self::RateLimited { message: message.into(), retry_after }
    }

    /// How long a rate-limited client should wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Logs an unexpected failure with its cause and answers a generic error.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal
    }

    /// Every code [`AppError::code`] answers with.
    pub const CODES: [&'static str; 10] = [
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "CONFLICT",
        "QUERY_TOO_COMPLEX",
        "RATE_LIMITED",
        "SERVICE_UNAVAILABLE",
        "PERSISTED_QUERY_NOT_FOUND",
        "INTERNAL",
    ];

    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput(_) => "BAD_USER_INPUT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::Conflict(_) => "CONFLICT",
            Self::TooComplex(_) | Self::Timeout(_) => "QUERY_TOO_COMPLEX",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::Internal => "INTERNAL",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::NotFound(m)
            | Self::BadInput(m)
            | Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::TooComplex(m)
            | Self::Timeout(m)
            | Self::Unavailable(m)
            | Self::RateLimited { message: m, .. } => m,
            // The exact message Apollo clients look for.
            Self::PersistedQueryNotFound => "PersistedQueryNotFound",
            Self::Internal => "internal error",
        }
    }

    /// Maps a unique-constraint violation to `Conflict` with `message`; any
    /// other database error stays internal.
    pub fn conflict_on_unique(err: DbErr, message: &str) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(message.to_owned()),
            _ => Self::from(err),
        }
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

/// The message of a request that found no free database connection in time.
/// The database may also be unreachable: `http::admission` tells the two apart.
pub const POOL_BUSY: &str = "the service is busy: no database connection became free in time; retry shortly";

impl From<DbErr> for AppError {
    /// A statement stopped by its time limit and a pool with no free
    /// connection are the client's to hear about (with a code, no SQL); any
    /// other database error is internal.
    fn from(err: DbErr) -> Self {
        let sqlx_error = match &err {
            DbErr::Conn(RuntimeErr::SqlxError(e))
            | DbErr::Exec(RuntimeErr::SqlxError(e))
            | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
            _ => None,
        };
        let pool_exhausted = matches!(err, DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))
            || matches!(sqlx_error, Some(sqlx::Error::PoolTimedOut));
        if pool_exhausted {
            tracing::warn!("no database connection became free within the acquire timeout");
            return Self::rate_limited(POOL_BUSY, Duration::from_secs(1));
        }
        if sqlx_error.is_some_and(is_statement_cancelled) {
            tracing::warn!(error = %err, "a statement ran past its time limit and was stopped");
            return Self::Timeout(
                "a database statement ran past its time limit and was stopped; ask for less (a smaller page, a narrower search)"
                    .to_owned(),
            );
        }
        Self::internal(format_args!("database: {err}"))
    }
}

/// PostgreSQL's `query_canceled` (what `statement_timeout` raises) and
/// SQLite's `SQLITE_INTERRUPT` (what the serving pool's progress handler raises).
fn is_statement_cancelled(err: &sqlx::Error) -> bool {
    const PG_QUERY_CANCELED: &str = "57014";
    const SQLITE_INTERRUPT: &str = "9";
    match err {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some(PG_QUERY_CANCELED | SQLITE_INTERRUPT)),
        _ => false,
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.message()).extend_with(|_, e| {
            e.set("code", self.code());
            if let Some(wait) = self.retry_after() {
                e.set("retryAfterSeconds", crate::graphql::limits::retry_after_secs(wait));
            }
        })
    }
}

impl AppError {
    /// The error as a request-level GraphQL error: no location, no path.
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let error = self.extend();
        let mut server_error = async_graphql::ServerError::new(error.message, None);
        server_error.extensions = error.extensions;
        server_error
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}
