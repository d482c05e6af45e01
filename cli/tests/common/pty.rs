//! The tool run on a pseudo-terminal, and what a person would see on it: everything it writes (to
//! standard output and standard error alike, as on a real terminal) goes through a VT100 emulator,
//! whose screen the tests read after the run. The terminal can be resized, typed into and sent
//! signals.

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::fd::AsFd;
use rustix::process::{kill_process, Pid, Signal};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcsetwinsize, Winsize};

/// Rows of every test terminal: enough that nothing scrolls off, so the screen holds the whole run.
pub const ROWS: u16 = 200;

/// How long a test waits for something to show, or for the tool to end, before it fails. A bound
/// for a hang, far above what any of these runs takes.
pub const BOUND: Duration = Duration::from_secs(60);

/// The tool running on a pseudo-terminal.
pub struct Terminal {
    master: File,
    child: Child,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the tool wrote, for what the screen does not show (escape sequences).
    raw: Arc<Mutex<Vec<u8>>>,
    /// A width the reader is to give the terminal once it has read all the tool wrote before;
    /// `None` again once it has.
    resizing: Arc<Mutex<Option<u16>>>,
    reader: Option<JoinHandle<()>>,
}

impl Terminal {
    /// Starts `command` with its standard input, output and error on a new terminal of `cols`
    /// columns and [`ROWS`] rows.
    pub fn start(mut command: Command, cols: u16) -> Terminal {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        set_size(&master, cols);
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .expect("open the terminal's slave side");
        // As a shell starts a command: in a session of its own whose controlling terminal this
        // is, so that Ctrl-C typed here is echoed and sent to it by the terminal, as for a person.
        let ctty = slave.try_clone().unwrap();
        // SAFETY: between fork and exec, only two system calls, both async-signal-safe, on a
        // descriptor that stays open in the child; nothing is allocated.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(move || {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(&ctty)?;
                Ok(())
            });
        }
        let child = command
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave)
            .spawn()
            .expect("run kie-upload");
        // The slave side is the child's alone now: once it ends, reading the master fails and
        // the reader below ends.
        drop(command);
        let master = File::from(master);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            nonzero(ROWS),
            nonzero(cols),
            0,
        )));
        let mut from = master.try_clone().unwrap();
        // Not blocking, so that between the tool's writes the reader can resize the terminal.
        let flags = rustix::fs::fcntl_getfl(&from).expect("the terminal's flags");
        rustix::fs::fcntl_setfl(&from, flags | rustix::fs::OFlags::NONBLOCK)
            .expect("a terminal that does not block");
        let screen = Arc::clone(&parser);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let bytes = Arc::clone(&raw);
        let resizing = Arc::new(Mutex::new(None));
        let asked = Arc::clone(&resizing);
        let sized = master.try_clone().unwrap();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        screen.lock().unwrap().process(&buf[..n]);
                        bytes.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    // All the tool wrote so far is on the screen: the moment to resize.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        let mut asked = asked.lock().unwrap();
                        match asked.take() {
                            Some(cols) => {
                                let mut screen = screen.lock().unwrap();
                                screen.set_size(nonzero(ROWS), nonzero(cols));
                                set_size(&sized, cols);
                            }
                            None => {
                                drop(asked);
                                std::thread::sleep(Duration::from_millis(2));
                            }
                        }
                    }
                    // The tool's side is closed: it has ended.
                    Err(_) => break,
                }
            }
        });
        Terminal {
            master,
            child,
            parser,
            raw,
            resizing,
            reader: Some(reader),
        }
    }

    /// The screen's text now: each row, wrapped rows joined, trailing spaces dropped.
    pub fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Every byte written so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Waits until the screen shows what `ready` looks for; fails after [`BOUND`].
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) {
        let started = Instant::now();
        while !ready(&self.text()) {
            if started.elapsed() > BOUND {
                panic!("waited {BOUND:?} for {what}; the screen:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Makes the terminal `cols` wide, as a person dragging the window would: the screen and the
    /// size the tool reads change together, once everything the tool wrote before is on the
    /// screen (the reader does it between two of the tool's writes). Were the screen resized
    /// while the reader still held bytes written before, a frame laid out for the old width
    /// would land on the new one, which a real terminal sees only within the microseconds
    /// between a program's reading its width and writing its frame.
    pub fn resize(&self, cols: u16) {
        *self.resizing.lock().unwrap() = Some(cols);
        let started = Instant::now();
        while self.resizing.lock().unwrap().is_some() {
            if started.elapsed() > BOUND {
                panic!("the terminal was not resized within {BOUND:?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Types `bytes` (`\x04` is Ctrl-D).
    pub fn type_in(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Presses Ctrl-C: the terminal echoes `^C` where the cursor is and sends SIGINT to the tool.
    pub fn press_ctrl_c(&mut self) {
        self.type_in(b"\x03");
    }

    /// Sends `signal` to the tool, as Ctrl-C (`Signal::INT`) or `kill` (`Signal::TERM`) would.
    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_child(&self.child);
        kill_process(pid, signal).expect("send a signal");
    }

    /// Whether the tool has ended.
    pub fn ended(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Waits for the tool to end (failing after [`BOUND`]) and for all it wrote to reach the
    /// screen; returns how it ended, the final screen and every byte written.
    pub fn finish(mut self) -> Ended {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > BOUND {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "kie-upload did not end within {BOUND:?}; the screen:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let screen = self.text();
        // The terminal's modes as the tool left them (the master reads the slave's).
        let echo = rustix::termios::tcgetattr(&self.master)
            .map(|modes| {
                modes
                    .local_modes
                    .contains(rustix::termios::LocalModes::ECHO)
            })
            .unwrap_or(true);
        assert!(!screen.contains(super::KEY), "the key showed:\n{screen}");
        assert!(!screen.contains("panicked"), "{screen}");
        Ended {
            status,
            screen,
            raw: self.raw(),
            echo,
        }
    }
}

/// How a run on a terminal ended.
pub struct Ended {
    pub status: ExitStatus,
    /// The final screen's text.
    pub screen: String,
    /// Every byte the tool wrote.
    pub raw: Vec<u8>,
    /// Whether the terminal echoes what is typed, once the tool has ended.
    pub echo: bool,
}

impl Ended {
    /// The exit code, or 128 plus the signal that ended the tool, as a shell reports it.
    pub fn code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.status
            .code()
            .unwrap_or_else(|| 128 + self.status.signal().unwrap_or(0))
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set_size(fd: impl AsFd, cols: u16) {
    let size = Winsize {
        ws_row: ROWS,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(fd, size).expect("set the terminal's size");
}

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a terminal has rows and columns")
}

/// The lines of a screen that are not blank.
pub fn lines(screen: &str) -> Vec<&str> {
    screen.lines().filter(|l| !l.trim().is_empty()).collect()
}
