//go:build unix && !linux

package hubcmd

import "net"

func peerAllowed(net.Conn, int) bool { return true } // the socket's mode 0600 decides
