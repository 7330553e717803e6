// Package drivers reads the sensors wired to the bridge's own board — I²C
// sensors and GPIO inputs, through periph.io — and returns their values as
// [firmware.Reading]s with SenML quantities and units, like the firmware
// decoders do for devices on the network.
//
// # Sensors
//
// Each constructor takes a periph bus or pin and a config whose zero value
// is the default; each result implements [Sensor]:
//
//	NewBME280(i2c.Bus, BME280Config)     temperature Cel, humidity %RH, pressure hPa   (periph bmxx80)
//	NewCCS811(i2c.Bus, CCS811Config)     eco2 ppm, tvoc ppb                            (periph ccs811)
//	NewBH1750(i2c.Bus, BH1750Config)     illuminance lx                                (own driver)
//	NewINA219(i2c.Bus, INA219Config)     voltage V, current A, power W, energy Wh      (periph ina219)
//	NewParking(i2c.Bus, ParkingSensorConfig)  occupancy / (1 taken, 0 free)            (periph tlv493d)
//	NewS0(gpio.PinIn, S0Config)          energy Wh, power W                            (edges on a GPIO)
//	NewPIR(gpio.PinIn, PIRConfig)        presence / (1 or 0)                           (level and edges)
//
// A driver never opens the bus or the pin: the program does, once, with
// [OpenBoard], and closes them. Read takes the time of the reading from
// its caller; the drivers that time things themselves (S0 pulses, PIR
// edges, BH1750 and CCS811 start-up) take a Now clock in their config, so
// that tests run on a fake clock and never sleep.
//
// Readings a sensor cannot give yet come back as [ErrNotReady] (CCS811
// warm-up, BH1750 first conversion, parking calibration); the parking
// sensor returns no readings at all between its reports.
//
// # State the caller persists
//
// The INA219's energy index (EnergyMicroWh, SetEnergyMicroWh) and the
// parking bay's baseline (Baseline, SetBaseline) are kept by the caller.
// The S0 counter keeps its own pulse count in a state file, written
// atomically at most every SaveEvery.
//
// # Tests
//
// The tests need no hardware: I²C drivers replay register traffic with
// i2ctest.Playback (the BME280 with the calibration of Bosch's datasheet
// example), GPIO drivers get edges from gpiotest.Pin on a fake clock, and
// the parking detector is fed simulated fields.
//
// Tests against a real board sit in hw_test.go behind the "hw" build tag.
// On a Raspberry Pi with I²C enabled (raspi-config), as a user in the i2c
// and gpio groups or as root:
//
//	CIVISENS_HW_I2C=1 \
//	CIVISENS_HW_DEVICES=bme280,ccs811,bh1750,ina219,tlv493d \
//	CIVISENS_HW_S0_PIN=GPIO17 CIVISENS_HW_PIR_PIN=GPIO27 \
//	go test -tags hw ./firmware-bridge/internal/drivers/ -run HW -v
//
// CIVISENS_HW_I2C names the bus (default "1", /dev/i2c-1);
// CIVISENS_HW_DEVICES lists the I²C sensors present, at their default
// addresses (a test skips a sensor not listed); the pin variables name the
// GPIOs of an S0 output and a PIR (a test skips a pin not given).
// CIVISENS_HW_WAIT (default 30s) is how long the S0 and PIR tests wait
// for a pulse or motion. Cross-compile on a PC with
// GOOS=linux GOARCH=arm GOARM=6 go test -c -tags hw (or GOARCH=arm64) and
// copy the test binary to the Pi if it has no Go toolchain.
package drivers
