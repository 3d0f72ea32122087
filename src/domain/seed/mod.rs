//! Loading data sets into the catalogue.
pub mod demo;
