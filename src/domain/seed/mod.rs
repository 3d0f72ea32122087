//! Loading data sets into the catalogue.
pub mod bulk;
pub mod demo;
pub mod synthetic;
