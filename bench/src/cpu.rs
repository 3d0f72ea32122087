//! CPU time of the server and of PostgreSQL, read from `/proc`, so that a
//! row says what a request costs in CPU and not only how long it waits.
/// Clock ticks per second of `/proc/<pid>/stat` (`sysconf(_SC_CLK_TCK)`):
/// the kernel's USER_HZ, which is 100 on every architecture Linux runs the
/// bench on.
const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime + cutime + cstime from the text of a `/proc/<pid>/stat`, in
/// ticks. The fields are counted after the `)` that closes `comm`, which can
/// hold spaces and parentheses. The children's times (cutime, cstime) are
/// those of children the process has waited for: nothing for the server,
/// and for the PostgreSQL postmaster the backends that exited during a run.
pub fn stat_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // After `)`: state (field 3 of proc(5)), ..., utime (14), stime (15), cutime (16), cstime (17).
    let mut fields = after_comm.split_whitespace().skip(11);
    let mut total = 0u64;
    for _ in 0..4 {
        total = total.checked_add(fields.next()?.parse::<u64>().ok()?)?;
    }
    Some(total)
}

fn process_ticks(pid: u32) -> Option<u64> {
    stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Ticks of every process named `postgres`, summed. A backend that exits
/// leaves its ticks in the postmaster's cutime/cstime, so the difference of
/// two sums is what was spent between them. This counts every PostgreSQL
/// cluster of the machine, not only the benchmarked one.
fn postgres_ticks() -> Option<u64> {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        // A process can exit between the listing and the reads: skip it.
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == "postgres" {
            total = total.saturating_add(process_ticks(pid).unwrap_or(0));
        }
    }
    Some(total)
}

/// CPU times at one moment, in ticks: the server's and PostgreSQL's.
pub struct CpuSnapshot {
    server: Option<u64>,
    postgres: Option<u64>,
}

/// CPU milliseconds spent between two snapshots; `None` where unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSpent {
    pub server_ms: Option<f64>,
    pub postgres_ms: Option<f64>,
}

impl CpuSnapshot {
    /// `server` is the pid of a server the bench started; `postgres` whether
    /// to read PostgreSQL's processes.
    pub fn take(server: Option<u32>, postgres: bool) -> Self {
        Self { server: server.and_then(process_ticks), postgres: if postgres { postgres_ticks() } else { None } }
    }

    pub fn spent_since(&self, before: &CpuSnapshot) -> CpuSpent {
        let ms = |before: Option<u64>, after: Option<u64>| {
            Some(after?.saturating_sub(before?) as f64 * 1000.0 / TICKS_PER_SECOND)
        };
        CpuSpent { server_ms: ms(before.server, self.server), postgres_ms: ms(before.postgres, self.postgres) }
    }
}

#[cfg(test)]
mod tests {
    use super::stat_ticks;

    #[test]
    fn ticks_are_read_after_the_comm_field_even_when_it_holds_spaces_and_parentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 1500 0 3 0 250 75 10 5 20 0 9 0 123 456 789";
        assert_eq!(stat_ticks(stat), Some(250 + 75 + 10 + 5));
    }

    #[test]
    fn a_truncated_or_garbled_stat_is_unknown() {
        assert_eq!(stat_ticks("4242 (scholargraph) S 1 4242"), None);
        assert_eq!(stat_ticks("4242 scholargraph S 1"), None);
        assert_eq!(stat_ticks("4242 (x) S 1 2 3 0 -1 0 0 0 0 0 ten 75 0 0"), None);
    }
}
