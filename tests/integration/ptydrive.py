#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive `hutch run -it`, or another command that gives a shell, through a
pseudo-terminal, as a user at a terminal.

Usage: ptydrive.py HUTCH ROOTFS
       ptydrive.py -- COMMAND [ARG...]
       ptydrive.py --no-size -- COMMAND [ARG...]
Checks: the shell inside sees the terminal size, follows a resize
(SIGWINCH), gets typed input, passes its exit code through, and hutch puts
the terminal back the way it found it.  With `--`, COMMAND (an engine's
`run -it` or `exec -it`) stands for hutch; an engine may size the
container's terminal only once its process runs (ctr resizes after the
task started), so there the shell waits up to 5 s for a size other than
0 0 before it reports the first one.  With `--no-size --`, COMMAND
(`srun --pty --container BUNDLE sh`) stands for hutch and the size is not
checked: the shell of an OCI runtime that Slurm starts has no terminal of its own
(Slurm sets process.terminal false), so only typed input, the output, the
exit code and the terminal's settings are; the line that answers the
typed input is printed (`MARK-42 pid-N`, N the shell's pid as it sees
it).  Prints what it saw; exits 0 when everything held, 1 otherwise.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def read_until(fd, needle, timeout=15.0):
    buf = b""
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            if needle in buf:
                return buf
    raise SystemExit("timed out waiting for %r; got %r" % (needle, buf))


def wait_bounded(pid, seconds):
    """The wait status of PID, or None (and PID killed) after SECONDS."""
    end = time.time() + seconds
    while time.time() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return status
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


def main():
    first = b"stty size; echo MARK-$((40+2))\n"
    if sys.argv[1] == "--no-size" and sys.argv[2] == "--":
        argv, sizes = sys.argv[3:], False
    elif sys.argv[1] == "--":
        argv, sizes = sys.argv[2:], True
        first = (b"i=0; while [ $i -lt 50 ] && ! stty size | grep -q '^[1-9]'; do"
                 b" sleep 0.1; i=$((i+1)); done; " + first)
    else:
        hutch, rootfs = sys.argv[1], sys.argv[2]
        argv, sizes = [hutch, "run", "-i", "-t", "--rootfs", rootfs, "sh"], True
    go_r, go_w = os.pipe()
    pid, master = pty.fork()
    if pid == 0:
        # The child's terminal: a known size; hutch starts once the parent
        # has seen the terminal's settings.
        os.close(go_w)
        set_size(0, 24, 80)
        os.read(go_r, 1)
        os.execvp(argv[0], argv)
    os.close(go_r)
    before = termios.tcgetattr(master)
    os.write(go_w, b"g")
    os.close(go_w)

    if not sizes:
        # the typed line echoes as "$((40+2))": only the shell's answer
        # has "MARK-42"
        os.write(master, b"echo MARK-$((40+2)) pid-$$\n")
        out = read_until(master, b"MARK-42 pid-")
        answer = out[out.index(b"MARK-42 pid-"):]
        if b"\n" not in answer:
            answer += read_until(master, b"\n")
        print(answer.split(b"\n")[0].strip().decode(errors="replace"))
    else:
        os.write(master, first)
        out = read_until(master, b"MARK-42")
        if b"24 80" not in out:
            print("initial size not seen: %r" % out)
            return 1

        # Resize: the kernel sends SIGWINCH to hutch, which resizes the
        # container's terminal.
        set_size(master, 33, 101)
        time.sleep(0.3)
        os.write(master, b"stty size; echo MARK-$((50+3))\n")
        out = read_until(master, b"MARK-53")
        if b"33 101" not in out:
            print("resize not followed: %r" % out)
            return 1

    os.write(master, b"exit 7\n")
    status = wait_bounded(pid, 15.0)
    if status is None:
        print("%s did not exit within 15 s of the shell's exit" % argv[0])
        return 1
    after = termios.tcgetattr(master)
    code = os.waitstatus_to_exitcode(status)
    print("exit code %d" % code)
    if code != 7:
        return 1
    if before != after:
        print("terminal settings were not restored:\n before %r\n after  %r" % (before, after))
        return 1
    print("terminal restored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
