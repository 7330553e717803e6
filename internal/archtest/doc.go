// Package archtest holds the test that keeps the architecture of
// docs/ARCHITECTURE.md true: which packages may import which.
package archtest
