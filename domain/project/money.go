package project

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Money is an amount in a currency's minor unit (cents for EUR, fils for
// KWD, yen for JPY: ISO 4217's exponent says which), so sums are exact.
type Money struct {
	// Minor is the amount in the currency's minor unit.
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// currencies are the active ISO 4217 alphabetic codes.
var currencies = strings.Fields(`
	AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
	CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
	GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD
	KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN
	NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP
	SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES
	VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG`)

// exponents are ISO 4217's minor units where they are not two: the
// digits after the decimal point of an amount in the currency.
//
// Written here rather than taken from golang.org/x/text/currency, whose
// rounding is CLDR's (the digits people use in prices, not those the
// standard defines): checked against this list, it gives 0 for ALL, AMD,
// COP, IDR, IQD, MUR, PKR, RSD, TZS and a dozen more whose ISO exponent
// is 2 (3 for IQD), and knows neither MRU nor SLE.
var exponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// IsCurrency reports whether code is an active ISO 4217 alphabetic code.
func IsCurrency(code string) bool { return slices.Contains(currencies, code) }

// Exponent is the number of digits after the decimal point of an amount
// in currency (ISO 4217's minor unit): 2 for EUR, 0 for JPY, 3 for KWD.
func Exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}

// Decimal is the amount as an exact decimal in the currency's unit, with
// as many decimals as its exponent: "999100.00", "1000" (JPY), "-1.500"
// (KWD).
func (m Money) Decimal() string {
	return m.format(false)
}

// String formats the amount as the source documents write it, the whole
// part grouped by thousands: "EUR 999,100.00", "JPY 1,000", "EUR -1.50".
func (m Money) String() string {
	return m.Currency + " " + m.format(true)
}

func (m Money) format(group bool) string {
	e := Exponent(m.Currency)
	sign, minor := "", m.Minor
	if minor < 0 {
		sign = "-"
	}
	// Digits of the absolute value, without overflowing on the minimum.
	digits := strconv.FormatUint(absolute(minor), 10)
	if len(digits) <= e {
		digits = strings.Repeat("0", e-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-e], digits[len(digits)-e:]
	if group {
		var b strings.Builder
		for i, c := range whole {
			if i > 0 && (len(whole)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		whole = b.String()
	}
	if e == 0 {
		return sign + whole
	}
	return sign + whole + "." + frac
}

func absolute(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}

// amountForm is an amount as it is written in input: digits, and at most
// as many decimals as the currency has (checked apart).
var amountForm = regexp.MustCompile(`^(\d{1,15})(?:\.(\d{1,4}))?$`)

// ParseMoney reads an amount given as a decimal string in the currency's
// unit ("999100.00", "1000" JPY, "1.500" KWD) exactly, into its minor
// unit. field names the input for the errors.
func ParseMoney(field, amount, currency string) (Money, error) {
	currency = strings.TrimSpace(currency)
	if !slices.Contains(currencies, currency) {
		return Money{}, invalid(field+".currency", "%q is not an ISO 4217 currency code (EUR, USD, GEL, ...)", currency)
	}
	e := Exponent(currency)
	m := amountForm.FindStringSubmatch(strings.TrimSpace(amount))
	if m == nil || len(m[2]) > e {
		return Money{}, invalid(field+".amount", "%q is not an amount in %s (digits, at most %d decimals: %s)",
			amount, currency, e, Money{Minor: 99910000 * pow10(e) / 100, Currency: currency}.Decimal())
	}
	whole, _ := strconv.ParseInt(m[1], 10, 64)
	frac := int64(0)
	if m[2] != "" {
		frac, _ = strconv.ParseInt(m[2]+strings.Repeat("0", e-len(m[2])), 10, 64)
	}
	return Money{Minor: whole*pow10(e) + frac, Currency: currency}, nil
}

func pow10(e int) int64 {
	n := int64(1)
	for range e {
		n *= 10
	}
	return n
}

// validate checks an amount: a currency ISO 4217 knows, and no negative
// amount.
func (m Money) validate(field string) error {
	switch {
	case !slices.Contains(currencies, m.Currency):
		return invalid(field+".currency", "%q is not an ISO 4217 currency code (EUR, USD, GEL, ...)", m.Currency)
	case m.Minor < 0:
		return invalid(field+".amount", "%s is negative", m)
	}
	return nil
}
