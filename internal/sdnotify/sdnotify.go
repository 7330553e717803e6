// Package sdnotify speaks systemd's notify protocol for the three
// programs. Like the contract packages it imports only the standard
// library, so that sharing it couples the programs to nothing but
// systemd (internal/archtest allows it).
package sdnotify

import (
	"context"
	"net"
	"strconv"
	"time"
)

// Notifier speaks systemd's notify protocol (sd_notify(3)) without
// libsystemd: datagrams on the unix socket named by $NOTIFY_SOCKET. Under a
// unit with Type=notify it says READY=1 once the program serves, then
// WATCHDOG=1 every half $WATCHDOG_USEC (WatchdogSec=), and STOPPING=1 at a
// stop. Outside systemd ($NOTIFY_SOCKET unset) every method does nothing.
type Notifier struct {
	socket   string        // $NOTIFY_SOCKET; "@name" is an abstract socket
	watchdog time.Duration // $WATCHDOG_USEC, when $WATCHDOG_PID is unset or ours
}

// New reads systemd's environment (getenv) for the process pid.
func New(getenv func(string) string, pid int) Notifier {
	n := Notifier{socket: getenv("NOTIFY_SOCKET")}
	if usec, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64); err == nil && usec > 0 {
		if p := getenv("WATCHDOG_PID"); p == "" || p == strconv.Itoa(pid) {
			n.watchdog = time.Duration(usec) * time.Microsecond
		}
	}
	return n
}

// Notify sends one state ("READY=1"); without a socket it does nothing.
func (n Notifier) Notify(state string) error {
	if n.socket == "" {
		return nil
	}
	addr := n.socket
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

// Ready says READY=1, then keeps the watchdog fed until ctx ends, when it
// says STOPPING=1. It returns at once, with a function that, once ctx has
// ended, waits until STOPPING=1 is said: defer it, or a quick stop may
// exit before. Errors are not fatal (systemd, if it waits, will say so).
func (n Notifier) Ready(ctx context.Context) (waitStopping func()) {
	if n.socket == "" {
		return func() {}
	}
	n.Notify("READY=1")
	said := make(chan struct{})
	go func() {
		var tick <-chan time.Time
		if n.watchdog > 0 {
			t := time.NewTicker(n.watchdog / 2)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-ctx.Done():
				n.Notify("STOPPING=1")
				close(said)
				return
			case <-tick:
				n.Notify("WATCHDOG=1")
			}
		}
	}()
	return func() {
		if ctx.Err() != nil {
			<-said
		}
	}
}
