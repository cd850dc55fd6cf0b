fn main() -> std::process::ExitCode {
    clotair::cli::main()
}
