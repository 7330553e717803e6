package firmware

import (
	"fmt"
	"io"

	"go.bug.st/serial"
)

// OpenTIC opens the serial port of a Linky TIC interface (a /dev/ttyUSB*
// of a USB dongle, or /dev/serial0 of a Raspberry Pi's UART) for [TIC]:
// 7 data bits, even parity, 1 stop bit, at 1200 baud in mode historique
// and 9600 baud in mode standard. TICAuto is refused: the baud rate
// depends on the mode. The caller closes the port.
func OpenTIC(port string, mode TICMode) (io.ReadCloser, error) {
	var baud int
	switch mode {
	case TICHistorique:
		baud = 1200
	case TICStandard:
		baud = 9600
	default:
		return nil, fmt.Errorf("open TIC %s: %w: %v (the baud rate needs historique or standard)", port, ErrTICMode, mode)
	}
	return openSerial(port, &serial.Mode{BaudRate: baud, DataBits: 7, Parity: serial.EvenParity, StopBits: serial.OneStopBit})
}

// OpenUART opens a serial port in 8N1 at the given baud rate, for the
// [SDS011] and [PMS5003] sensors (9600 baud). The caller closes the port.
func OpenUART(port string, baud int) (io.ReadCloser, error) {
	if baud <= 0 {
		return nil, fmt.Errorf("open %s: baud rate %d", port, baud)
	}
	return openSerial(port, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
}

func openSerial(port string, mode *serial.Mode) (io.ReadCloser, error) {
	p, err := serial.Open(port, mode)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", port, err)
	}
	return p, nil
}
