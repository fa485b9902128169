package projections

import (
	"context"
	"testing"

	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/internal/testdb"
)

// TestCertStatusAgreesWithTheDomain: the read model's SQL (certStatus)
// and the domain's certification.CertificateStatusOn give the same status
// for every case around the edges: the last valid day, the day of a
// revocation, a revocation after expiry, a revocation not yet in force.
func TestCertStatusAgreesWithTheDomain(t *testing.T) {
	db := testdb.Pool(t)
	days := []string{"2019-06-14", "2020-06-13", "2020-06-14", "2020-06-15", "2021-01-01"}
	revocations := []string{"", "2019-09-01", "2020-06-14", "2020-06-15", "2020-12-31"}
	n := 0
	for _, today := range days {
		for _, revokedOn := range revocations {
			var sqlStatus string
			err := db.QueryRow(context.Background(), `SELECT s.status FROM
				(SELECT '2020-06-14'::date AS valid_until, nullif($2, '')::date AS revoked_on) a`+certStatus,
				today, revokedOn).Scan(&sqlStatus)
			if err != nil {
				t.Fatal(err)
			}
			want := certification.CertificateStatusOn(today, "2020-06-14", revokedOn)
			if CertificateStatus(sqlStatus) != want {
				t.Errorf("on %s, valid until 2020-06-14, revoked on %q: SQL says %s, the domain %s", today, revokedOn, sqlStatus, want)
			}
			n++
		}
	}
	if n != 25 {
		t.Fatalf("%d cases", n)
	}
}
