package project_test

import (
	"math"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/project"
)

// TestMoneyByExponent: an amount is read, written and formatted with as
// many decimals as ISO 4217 gives its currency (2, 0 or 3), and a
// negative amount keeps its sign in front.
func TestMoneyByExponent(t *testing.T) {
	tests := []struct {
		m       project.Money
		decimal string
		text    string
	}{
		{project.Money{Minor: 99910000, Currency: "EUR"}, "999100.00", "EUR 999,100.00"},
		{project.Money{Minor: 5, Currency: "GEL"}, "0.05", "GEL 0.05"},
		{project.Money{Minor: -150, Currency: "EUR"}, "-1.50", "EUR -1.50"},
		{project.Money{Minor: 1000, Currency: "JPY"}, "1000", "JPY 1,000"},
		{project.Money{Minor: -7, Currency: "JPY"}, "-7", "JPY -7"},
		{project.Money{Minor: 1500, Currency: "KWD"}, "1.500", "KWD 1.500"},
		{project.Money{Minor: 1234567891, Currency: "KWD"}, "1234567.891", "KWD 1,234,567.891"},
		{project.Money{Minor: 7, Currency: "BHD"}, "0.007", "BHD 0.007"},
		{project.Money{Minor: math.MinInt64, Currency: "USD"}, "-92233720368547758.08", "USD -92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		if got := tt.m.Decimal(); got != tt.decimal {
			t.Errorf("%+v.Decimal() = %q, want %q", tt.m, got, tt.decimal)
		}
		if got := tt.m.String(); got != tt.text {
			t.Errorf("%+v.String() = %q, want %q", tt.m, got, tt.text)
		}
		if tt.m.Minor < 0 {
			continue
		}
		back, err := project.ParseMoney("amount", tt.decimal, tt.m.Currency)
		if err != nil || back != tt.m {
			t.Errorf("ParseMoney(%q, %s) = %+v, %v; want %+v", tt.decimal, tt.m.Currency, back, err, tt.m)
		}
	}
	for _, e := range []struct {
		code string
		want int
	}{{"EUR", 2}, {"GEL", 2}, {"JPY", 0}, {"KRW", 0}, {"KWD", 3}, {"TND", 3}, {"IQD", 3}, {"ISK", 0}, {"AMD", 2}} {
		if got := project.Exponent(e.code); got != e.want {
			t.Errorf("Exponent(%s) = %d, want %d", e.code, got, e.want)
		}
	}
}

func TestParseMoneyRefuses(t *testing.T) {
	for _, tt := range []struct{ amount, currency, field string }{
		{"1.5", "JPY", "amount.amount"},      // yen have no decimals
		{"1.2345", "KWD", "amount.amount"},   // fils: three
		{"1.234", "EUR", "amount.amount"},    // cents: two
		{"-1.00", "EUR", "amount.amount"},    // no sign in input
		{"1,000.00", "EUR", "amount.amount"}, // no grouping
		{"10", "XYZ", "amount.currency"},
	} {
		_, err := project.ParseMoney("amount", tt.amount, tt.currency)
		if domain.KindOf(err) != domain.Invalid || err == nil || len(err.Error()) < len(tt.field) || err.Error()[:len(tt.field)] != tt.field {
			t.Errorf("ParseMoney(%q, %s) = %v, want Invalid naming %s", tt.amount, tt.currency, err, tt.field)
		}
	}
	if m, err := project.ParseMoney("amount", " 12.5 ", " EUR "); err != nil || m != (project.Money{Minor: 1250, Currency: "EUR"}) {
		t.Errorf("ParseMoney with spaces and one decimal = %+v, %v", m, err)
	}
}
