//! The Linux kernel's TCP as the far end of the wire: a TAP device inside a
//! network namespace of its own (needs root, `ip` from iproute2 and
//! `/dev/net/tun`).
//!
//! The simulator keeps the TAP's file descriptor: frames the driver
//! transmits are written to it, and what the namespace's kernel sends
//! comes back through it. Inside the namespace the device has the peer
//! address, a permanent neighbor entry for the driver's address (the
//! simulated host answers no ARP), IPv6 off (no router solicitations on the
//! wire), and nothing else: no traffic leaves the namespace. Both the
//! namespace and the device go when the [`LinuxPeer`] is dropped.

use std::ffi::CString;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The driver's side of the link (the offloading host's address).
pub const TARGET_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The Linux side.
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// The same two sides over IPv6 (unique local addresses).
pub const TARGET_IP6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
pub const PEER_IP6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
/// The TAP device's MAC inside the namespace (locally administered).
pub const PEER_MAC: [u8; 6] = [0x02, 0x4C, 0x4E, 0x58, 0x00, 0x02];

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Whether this machine lets this process build a [`LinuxPeer`]: root,
/// `ip`, and a trial namespace and TAP device that could be made (a
/// container without CAP_NET_ADMIN has the first two but not the third).
/// Probed once per process.
pub fn available() -> bool {
    static PROBE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PROBE.get_or_init(|| {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        root && Command::new("ip")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
            && Tap::create(&format!("chp{}_{n}", pid % 1_000_000)).is_ok()
            && Netns::create(&format!("chimney-probe-{pid}-{n}")).is_ok()
    })
}

/// A network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn create(name: &str) -> io::Result<Netns> {
        ip(&["netns", "add", name])?;
        Ok(Netns {
            name: name.to_string(),
        })
    }

    /// Move the calling thread (only it) into this namespace.
    pub fn enter(&self) -> io::Result<()> {
        enter_netns(&self.name)
    }

    /// Run `f` on a new thread inside this namespace.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<io::Result<T>> {
        let name = self.name.clone();
        std::thread::spawn(move || {
            enter_netns(&name)?;
            Ok(f())
        })
    }
}

fn enter_netns(name: &str) -> io::Result<()> {
    let f = std::fs::File::open(format!("/var/run/netns/{name}"))?;
    // SAFETY: a valid namespace file descriptor; CLONE_NEWNET changes only
    // the calling thread's network namespace.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// A TAP device (Ethernet frames, no packet-information prefix), closed on drop.
pub struct Tap {
    fd: OwnedFd,
    pub name: String,
}

const TUNSETIFF: libc::c_ulong = 0x4004_54CA;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

impl Tap {
    pub fn create(name: &str) -> io::Result<Tap> {
        let path = CString::new("/dev/net/tun").map_err(io::Error::other)?;
        // SAFETY: a NUL-terminated path; the result is checked.
        let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: IFF_TAP | IFF_NO_PI,
            _pad: [0; 22],
        };
        for (d, s) in req
            .name
            .iter_mut()
            .zip(name.bytes().take(libc::IFNAMSIZ - 1))
        {
            *d = s as libc::c_char;
        }
        // SAFETY: TUNSETIFF reads and writes one ifreq, which `req` is.
        if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Tap {
            fd,
            name: name.to_string(),
        })
    }

    /// One frame if one is waiting (non-blocking).
    pub fn read(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        }
    }

    /// Write one frame (a full queue drops it, as a wire would).
    pub fn write(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: `frame` is readable for its length.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Wait up to `ms` for a frame to read.
    pub fn wait(&self, ms: i32) {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, ms) };
    }
}

/// The namespace, its TAP device, and the addresses on both sides.
pub struct LinuxPeer {
    // Field order: the device closes before the namespace is deleted.
    pub tap: Tap,
    pub ns: Netns,
}

impl LinuxPeer {
    /// Build the namespace and device; `target_mac` is the driver's port
    /// MAC. With `ipv6` the device also has [`PEER_IP6`] (no duplicate
    /// address detection) and a permanent neighbor entry for [`TARGET_IP6`].
    pub fn setup(target_mac: [u8; 6], ipv6: bool) -> io::Result<LinuxPeer> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let ns = Netns::create(&format!("chimney-{pid}-{n}"))?;
        let tap = Tap::create(&format!("cht{}_{n}", pid % 1_000_000))?;
        let nsn = ns.name.as_str();
        let dev = tap.name.as_str();
        ip(&["link", "set", dev, "netns", nsn])?;
        let mac = |m: [u8; 6]| {
            m.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        let peer = format!("{PEER_IP}/24");
        let target = TARGET_IP.to_string();
        ip(&["-n", nsn, "link", "set", dev, "address", &mac(PEER_MAC)])?;
        // No IPv6 on the device unless asked for: its router solicitations
        // and listener reports would be noise.
        let sysctl = format!("net.ipv6.conf.{dev}.disable_ipv6={}", u8::from(!ipv6));
        ip(&["netns", "exec", nsn, "sysctl", "-qw", &sysctl])?;
        ip(&["-n", nsn, "addr", "add", &peer, "dev", dev])?;
        ip(&["-n", nsn, "link", "set", dev, "up"])?;
        ip(&["-n", nsn, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            nsn,
            "neigh",
            "replace",
            &target,
            "lladdr",
            &mac(target_mac),
            "dev",
            dev,
            "nud",
            "permanent",
        ])?;
        if ipv6 {
            let peer6 = format!("{PEER_IP6}/64");
            let target6 = TARGET_IP6.to_string();
            ip(&["-n", nsn, "-6", "addr", "add", &peer6, "dev", dev, "nodad"])?;
            ip(&[
                "-n",
                nsn,
                "-6",
                "neigh",
                "replace",
                &target6,
                "lladdr",
                &mac(target_mac),
                "dev",
                dev,
                "nud",
                "permanent",
            ])?;
        }
        Ok(LinuxPeer { tap, ns })
    }
}
