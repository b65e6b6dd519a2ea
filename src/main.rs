//! The `snapbridge` command.

fn main() -> std::process::ExitCode {
    snapbridge::cli::main()
}
