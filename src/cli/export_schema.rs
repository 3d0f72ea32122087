use std::path::PathBuf;

use anyhow::Context;

pub fn run(output: Option<PathBuf>) -> anyhow::Result<()> {
    let sdl = crate::graphql::sdl();
    match output {
        Some(path) => std::fs::write(&path, sdl).with_context(|| format!("writing {}", path.display())),
        None => {
            print!("{sdl}");
            Ok(())
        }
    }
}
