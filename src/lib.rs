//! 专业计量站管理平台: the platform on which market-regulation departments,
//! professional metrology stations and their competent departments run what
//! 《专业计量站管理办法》 (SAMR Order No. 93) asks of them.
//!
//! Layout follows `docs/architecture.md`: one folder per workflow (vertical
//! slice), the regulation's pure decisions in [`rules`], tenancy in [`db`].

pub mod applications;
pub mod audit;
pub mod auth;
pub mod authorizations;
pub mod calendar;
pub mod comparisons;
pub mod config;
pub mod db;
pub mod error;
pub mod i18n;
pub mod lifecycle;
pub mod notifications;
pub mod orgs;
pub mod records;
pub mod risks;
pub mod seed;
pub mod seed_scale;
pub mod standards;
pub mod startup;
pub mod state;
pub mod stations;
pub mod supervision;
pub mod tasks;
pub mod web;

pub use config::Config;
pub use error::{AppError, Result};
pub mod rules;
