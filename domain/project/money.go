package project

import (
	"fmt"
	"slices"
	"strings"
)

// Money is an amount in a currency's minor unit (cents for EUR), so sums
// are exact.
type Money struct {
	// Minor is the amount in the currency's minor unit.
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// String formats the amount as the source documents write it: "EUR
// 999,100.00".
func (m Money) String() string {
	whole, cents := m.Minor/100, m.Minor%100
	s := fmt.Sprint(whole)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("%s %s.%02d", m.Currency, b.String(), cents)
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
