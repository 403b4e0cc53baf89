//! Standard output of the commands: the `out!` and `out_raw!` macros (which end the program quietly
//! when the reader has gone away), JSON text, and chat events for a person at a terminal.

use crm_agent::ChatEvent;

/// `println!` on stdout, except that a reader gone away (`crm-agent call … | head`) ends the
/// program quietly, with success, where `println!` would panic.
macro_rules! out {
    () => { $crate::output::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` likewise.
macro_rules! out_raw {
    ($($arg:tt)*) => { $crate::output::write_out(format_args!($($arg)*)) };
}

pub(crate) fn write_out(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    match std::io::stdout().lock().write_fmt(text) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error (internal): cannot write to stdout: {e}");
            std::process::exit(1);
        }
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T, pretty: bool) -> crm_agent::Result<String> {
    let text = if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
    text.map_err(|e| crm_agent::Error::Internal(e.to_string()))
}

/// A chat event for a person at a terminal: the answer on stdout, the rest on stderr.
pub(crate) fn print_event(event: &ChatEvent) {
    use std::io::Write as _;
    match event {
        ChatEvent::Started { conversation_id } => eprintln!("[conversation {conversation_id}]"),
        ChatEvent::Text { delta } => {
            out_raw!("{delta}");
            let _ = std::io::stdout().flush();
        }
        ChatEvent::ToolCall { name, args, .. } => eprintln!("\n-> {name} {args}"),
        ChatEvent::ToolResult { name, ok, summary, .. } => {
            eprintln!("<- {name}: {} {summary}", if *ok { "ok" } else { "failed:" })
        }
        ChatEvent::ConfirmationRequired { action_id, summary, .. } => eprintln!(
            "\n[confirmation needed] {summary}\n  confirm: crm-agent confirm {action_id} --user USER\n  reject:  crm-agent reject {action_id} --user USER"
        ),
        ChatEvent::Done { usage } => {
            out!();
            eprintln!("[done: {} steps, {} tokens]", usage.steps, usage.total_tokens)
        }
        ChatEvent::Error { code, message, .. } => eprintln!("\n[error {code}] {message}"),
    }
}
