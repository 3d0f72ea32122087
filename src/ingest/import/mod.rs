//! `scholargraph import`: OpenAlex and arXiv records into the catalogue.
pub mod arxiv;
pub mod ids;
pub mod input;
pub mod openalex;
pub mod records;
