//! Opening a file that must be a regular file, without blocking on anything else.
//!
//! A plain `open` of a FIFO blocks until a writer opens it (forever, with no writer), and a
//! device such as `/dev/zero` reads without end. Every file named in the config (a `file`
//! source's path, a batch file, the state file) is opened here: non-blocking, so the open of
//! a FIFO returns at once, and refused unless the opened handle is a regular file (checked
//! on the handle, so a rename between a check and the open cannot swap in something else).

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens `path` for reading if it is a regular file; the error says what it is otherwise.
/// O_NONBLOCK has no effect on reads of a regular file, so the handle reads as usual.
pub fn open(path: &Path) -> io::Result<(File, Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", kind_of(&meta)),
        ));
    }
    Ok((file, meta))
}

fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fifo_and_a_device_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = super::open(&fifo).unwrap_err().to_string();
        assert!(e.contains("FIFO"), "{e}");
        let e = super::open(std::path::Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("character device"), "{e}");
        let regular = dir.path().join("r");
        std::fs::write(&regular, "x").unwrap();
        assert!(super::open(&regular).is_ok());
    }
}
