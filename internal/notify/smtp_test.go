package notify_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/notify"
)

// smtpServer speaks just enough SMTP on a loopback address to take one
// message at a time, and records what it was told.
type smtpServer struct {
	ln net.Listener
	// tls, when set, is offered with STARTTLS, or spoken from the first
	// byte with implicitTLS.
	tls         *tls.Config
	implicitTLS bool
	// rejectRcpt answers RCPT with a permanent failure; silent never
	// greets; stallAfterData takes a message and never answers it.
	rejectRcpt, silent, stallAfterData bool
	// gotData is closed when a message has been read, if set.
	gotData chan struct{}

	mu       sync.Mutex
	auth     string // the decoded AUTH PLAIN response
	from, to string
	data     string
	tlsUsed  bool // the message came over TLS
}

func newSMTPServer(t *testing.T, addr string, configure func(*smtpServer)) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen on %s: %v", addr, err)
	}
	s := &smtpServer{ln: ln}
	if configure != nil {
		configure(s)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				s.serve(conn)
			}()
		}
	}()
	return s
}

func (s *smtpServer) serve(conn net.Conn) {
	if s.silent {
		io.Copy(io.Discard, conn)
		return
	}
	secure := false
	if s.implicitTLS {
		tc := tls.Server(conn, s.tls)
		if err := tc.Handshake(); err != nil {
			return
		}
		conn, secure = tc, true
	}
	r := bufio.NewReader(conn)
	say := func(lines ...string) { io.WriteString(conn, strings.Join(lines, "\r\n")+"\r\n") }
	say("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"test", "8BITMIME", "AUTH PLAIN"}
			if s.tls != nil && !secure {
				ext = append(ext, "STARTTLS")
			}
			for i := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				ext[i] = "250" + sep + ext[i]
			}
			say(ext...)
		case "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, r, secure = tc, bufio.NewReader(tc), true
		case "AUTH":
			_, resp, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(resp)
			s.mu.Lock()
			s.auth = string(b)
			s.mu.Unlock()
			say("235 ok")
		case "MAIL":
			s.mu.Lock()
			s.from = arg
			s.mu.Unlock()
			say("250 ok")
		case "RCPT":
			if s.rejectRcpt {
				say("550 no such mailbox")
				continue
			}
			s.mu.Lock()
			s.to = arg
			s.mu.Unlock()
			say("250 ok")
		case "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.data, s.tlsUsed = data.String(), secure
			s.mu.Unlock()
			if s.gotData != nil {
				close(s.gotData)
			}
			if s.stallAfterData {
				io.Copy(io.Discard, conn)
				return
			}
			say("250 queued")
		case "RSET", "NOOP":
			// go-mail resets the transaction after a refused RCPT.
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func (s *smtpServer) port() string {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	return port
}

var testNotification = notify.Notification{
	Position: 42, EventID: eventstore.NewID(), Kind: notify.Certificate, Municipality: "batumi", Year: 2019,
	Subject: "სერტიფიკატი CB-2019-BATUMI / Certificate CB-2019-BATUMI",
	Body:    "მუნიციპალიტეტი: ბათუმი\n.ერთი\n\nMunicipality: Batumi\n",
}

// selfSigned returns a server certificate for 127.0.0.1, and a client
// configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test relay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots}
}

// TestSMTPSender sends a notification to the test relay and reads the
// message back: addressed by the template, authenticated, its Georgian
// subject and body intact.
func TestSMTPSender(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	for _, tc := range []struct {
		name     string
		tls      bool // the relay offers STARTTLS
		implicit bool // the relay speaks TLS at once, and the sender too
		wantTLS  bool
	}{
		{"in clear to localhost", false, false, false},
		{"STARTTLS", true, false, true},
		{"implicit TLS", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSMTPServer(t, "127.0.0.1:0", func(s *smtpServer) {
				if tc.tls {
					s.tls = serverTLS
				}
				s.implicitTLS = tc.implicit
			})
			mode := notify.TLSStartTLS
			if tc.implicit {
				mode = notify.TLSImplicit
			}
			s, err := notify.NewSMTPSender(notify.SMTPConfig{
				Addr: "127.0.0.1:" + srv.port(), From: "Civic Ledger <certification@example.org>",
				To: "certification+{municipality}@example.org", User: "civic", Password: "s3cret", TLSConfig: clientTLS, TLS: mode,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Send(ctx, testNotification); err != nil {
				t.Fatalf("Send: %v", err)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.from != "FROM:<certification@example.org>" && !strings.HasPrefix(srv.from, "FROM:<certification@example.org> ") {
				t.Errorf("MAIL %s, want FROM:<certification@example.org>", srv.from)
			}
			if srv.to != "TO:<certification+batumi@example.org>" {
				t.Errorf("RCPT %s, want TO:<certification+batumi@example.org>", srv.to)
			}
			if srv.auth != "\x00civic\x00s3cret" {
				t.Errorf("AUTH PLAIN %q, want the user and password", srv.auth)
			}
			if srv.tlsUsed != tc.wantTLS {
				t.Errorf("message over TLS = %v, want %v", srv.tlsUsed, tc.wantTLS)
			}
			msg, err := mail.ReadMessage(strings.NewReader(srv.data))
			if err != nil {
				t.Fatalf("the relay got no message (%v):\n%s", err, srv.data)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil || subject != testNotification.Subject {
				t.Errorf("Subject = %q, %v; want %q", subject, err, testNotification.Subject)
			}
			body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
			if want := strings.ReplaceAll(testNotification.Body, "\n", "\r\n"); err != nil || string(body) != want {
				t.Errorf("body = %q, %v; want %q", body, err, want)
			}
			// go-mail writes the charset as UTF-8; charset names are
			// case-insensitive (RFC 2046).
			if mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type")); err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
				t.Errorf("header Content-Type = %q, want text/plain; charset=utf-8", msg.Header.Get("Content-Type"))
			}
			for k, want := range map[string]string{
				"To":                        "<certification+batumi@example.org>",
				"Content-Transfer-Encoding": "base64",
				"Auto-Submitted":            "auto-generated",
				"Message-Id":                "<civic-notification-42-" + testNotification.EventID.String() + "@example.org>",
			} {
				if got := msg.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if _, err := msg.Header.Date(); err != nil {
				t.Errorf("Date header: %v", err)
			}
		})
	}
}

// TestSMTPSenderFailures: a refusal, a relay that never answers, and a
// relay elsewhere that offers no STARTTLS each fail the send, in time.
func TestSMTPSenderFailures(t *testing.T) {
	cfg := func(addr string) notify.SMTPConfig {
		return notify.SMTPConfig{Addr: addr, From: "certification@example.org", To: "{municipality}@example.org"}
	}
	send := func(c notify.SMTPConfig, timeout time.Duration) error {
		s, err := notify.NewSMTPSender(c)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return s.Send(ctx, testNotification)
	}

	reject := newSMTPServer(t, "127.0.0.1:0", func(s *smtpServer) { s.rejectRcpt = true })
	if err := send(cfg(reject.ln.Addr().String()), 10*time.Second); err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("Send to a refusing relay = %v; want its 550", err)
	}

	silent := newSMTPServer(t, "127.0.0.1:0", func(s *smtpServer) { s.silent = true })
	start := time.Now()
	if err := send(cfg(silent.ln.Addr().String()), 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("Send to a silent relay = %v; want the deadline exceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Send to a silent relay took %v; want it to end at its 300ms deadline", took)
	}

	// 127.0.0.2 is this machine on Linux, but not a name net/smtp trusts
	// as local: without STARTTLS the default mode refuses to send.
	elsewhere := newSMTPServer(t, "127.0.0.2:0", nil)
	if err := send(cfg(elsewhere.ln.Addr().String()), 10*time.Second); err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Errorf("Send to a relay without STARTTLS = %v; want a refusal", err)
	}
	// Nor does the password go out there before the refusal.
	withPassword := cfg(elsewhere.ln.Addr().String())
	withPassword.User, withPassword.Password = "civic", "s3cret"
	if err := send(withPassword, 10*time.Second); err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Errorf("Send with a password to a relay without STARTTLS = %v; want a refusal", err)
	}
	elsewhere.mu.Lock()
	if elsewhere.auth != "" || elsewhere.data != "" {
		t.Errorf("a relay without STARTTLS got AUTH %q and DATA %q; want neither", elsewhere.auth, elsewhere.data)
	}
	elsewhere.mu.Unlock()
	off := cfg(elsewhere.ln.Addr().String())
	off.TLS = notify.TLSOff
	if err := send(off, 10*time.Second); err != nil {
		t.Errorf("Send in clear with CIVIC_SMTP_TLS=off = %v; want it sent", err)
	}

	// Without a TLSConfig trusting it, the test relay's certificate is
	// refused, and the sender does not fall back to clear text.
	serverTLS, _ := selfSigned(t)
	untrusted := newSMTPServer(t, "127.0.0.1:0", func(s *smtpServer) { s.tls = serverTLS })
	if err := send(cfg(untrusted.ln.Addr().String()), 10*time.Second); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Send to a relay with an untrusted certificate = %v; want a certificate error", err)
	}
	untrusted.mu.Lock()
	if untrusted.data != "" {
		t.Errorf("a relay with an untrusted certificate got DATA %q; want none", untrusted.data)
	}
	untrusted.mu.Unlock()

	// go-mail heeds a context only while dialling: a context cancelled
	// after DATA, with no deadline to turn into go-mail's timeout (15s),
	// must still end the send at once.
	stall := newSMTPServer(t, "127.0.0.1:0", func(s *smtpServer) { s.stallAfterData, s.gotData = true, make(chan struct{}) })
	s, err := notify.NewSMTPSender(cfg(stall.ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stall.gotData:
			cancel()
		case <-time.After(10 * time.Second):
		}
	}()
	start = time.Now()
	if err := s.Send(ctx, testNotification); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Send cancelled while the relay stalls after DATA = %v; want the cancellation", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Send cancelled while the relay stalls after DATA took %v; want it to end when cancelled", took)
	}
}

// TestSMTPSenderGeorgian: a subject and body in Georgian, long enough
// for several encoded words and folded lines, arrive intact once decoded
// as the message's own headers say, and the message on the wire is
// 7-bit, whatever the relay's 8BITMIME.
func TestSMTPSenderGeorgian(t *testing.T) {
	srv := newSMTPServer(t, "127.0.0.1:0", nil)
	s, err := notify.NewSMTPSender(notify.SMTPConfig{
		Addr: "127.0.0.1:" + srv.port(), From: "სამოქალაქო რეესტრი <certification@example.org>",
		To: "certification+{municipality}@example.org",
	})
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification
	n.Subject = "სერტიფიკატი გაცემულია: ბათუმის მუნიციპალიტეტი, სამოქალაქო მონაწილეობის პროგრამა 2019"
	n.Body = "გამარჯობა,\n\n" +
		strings.Repeat("მუნიციპალიტეტმა დაასრულა სერტიფიცირების ციკლი. ", 4) + "\n" +
		".წერტილით დაწყებული სტრიქონი\n" +
		"From ქართული სტრიქონი\n" +
		"ეს შეტყობინება ავტომატურად გაიგზავნა.\n"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, n); err != nil {
		t.Fatalf("Send: %v", err)
	}
	srv.mu.Lock()
	data := srv.data
	srv.mu.Unlock()
	for i := 0; i < len(data); i++ {
		if data[i] >= 0x80 {
			t.Fatalf("byte %d of the message is %#x, not 7-bit:\n%s", i, data[i], data)
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("the relay got no message (%v):\n%s", err, data)
	}
	// A mime.WordDecoder without a CharsetReader decodes UTF-8 (and
	// US-ASCII, ISO-8859-1) only, so success also says the charset.
	dec := new(mime.WordDecoder)
	if subject, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || subject != n.Subject {
		t.Errorf("Subject = %q, %v; want %q", subject, err, n.Subject)
	}
	if from, err := msg.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "სამოქალაქო რეესტრი" {
		t.Errorf("From = %v, %v; want the Georgian name", from, err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Fatalf("Content-Type %q (%v); want text/plain in UTF-8", msg.Header.Get("Content-Type"), err)
	}
	var body io.Reader
	switch cte := strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")); cte {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, msg.Body)
	case "quoted-printable":
		body = quotedprintable.NewReader(msg.Body)
	case "", "7bit", "8bit":
		body = msg.Body
	default:
		t.Fatalf("Content-Transfer-Encoding %q", cte)
	}
	got, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("decoding the body: %v", err)
	}
	if !utf8.Valid(got) {
		t.Errorf("body is not UTF-8: %q", got)
	}
	if want := strings.ReplaceAll(n.Body, "\n", "\r\n"); string(got) != want {
		t.Errorf("body = %q; want %q", got, want)
	}
}

// TestReadSettings: every setting is checked at start, and a bad one is
// named in the error.
func TestReadSettings(t *testing.T) {
	smtp := map[string]string{
		"CIVIC_SMTP_ADDR": "smtp.example.org:587", "CIVIC_SMTP_FROM": "Civic Ledger <certification@example.org>",
		"CIVIC_NOTIFY_TO": "certification+{municipality}@example.org",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range smtp {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		err     string
		smtp    bool
		maxAge  time.Duration
		tlsMode string
	}{
		{name: "nothing set: the log", env: map[string]string{}, maxAge: notify.DefaultMaxAge},
		{name: "max age", env: map[string]string{"CIVIC_NOTIFY_MAX_AGE": "48h"}, maxAge: 48 * time.Hour},
		{name: "no max age", env: map[string]string{"CIVIC_NOTIFY_MAX_AGE": "0"}, maxAge: -1},
		{name: "max age not a duration", env: map[string]string{"CIVIC_NOTIFY_MAX_AGE": "a month"}, err: `CIVIC_NOTIFY_MAX_AGE "a month"`},
		{name: "negative max age", env: map[string]string{"CIVIC_NOTIFY_MAX_AGE": "-1h"}, err: `CIVIC_NOTIFY_MAX_AGE "-1h"`},
		{name: "SMTP", env: smtp, smtp: true, maxAge: notify.DefaultMaxAge, tlsMode: "starttls"},
		{name: "SMTP with implicit TLS", env: with("CIVIC_SMTP_TLS", "TLS", "CIVIC_SMTP_ADDR", "smtp.example.org:465"), smtp: true, maxAge: notify.DefaultMaxAge, tlsMode: "tls"},
		{name: "password to a local relay in clear", env: with("CIVIC_SMTP_ADDR", "localhost:25", "CIVIC_SMTP_TLS", "off", "CIVIC_SMTP_USER", "u", "CIVIC_SMTP_PASSWORD", "p"),
			smtp: true, maxAge: notify.DefaultMaxAge, tlsMode: "off"},
		{name: "one address for all", env: with("CIVIC_NOTIFY_TO", "programme@example.org"), smtp: true, maxAge: notify.DefaultMaxAge, tlsMode: "starttls"},
		{name: "from without an address", env: map[string]string{"CIVIC_SMTP_FROM": "a@example.org"}, err: "CIVIC_SMTP_FROM is set but CIVIC_SMTP_ADDR is not"},
		{name: "password without an address", env: map[string]string{"CIVIC_SMTP_PASSWORD": "p"}, err: "CIVIC_SMTP_PASSWORD is set but CIVIC_SMTP_ADDR is not"},
		{name: "no port", env: with("CIVIC_SMTP_ADDR", "smtp.example.org"), err: `CIVIC_SMTP_ADDR "smtp.example.org": want host:port`},
		{name: "no host", env: with("CIVIC_SMTP_ADDR", ":25"), err: `CIVIC_SMTP_ADDR ":25": want host:port`},
		{name: "bad port", env: with("CIVIC_SMTP_ADDR", "smtp.example.org:70000"), err: `CIVIC_SMTP_ADDR "smtp.example.org:70000": port`},
		{name: "no from", env: with("CIVIC_SMTP_FROM", ""), err: "CIVIC_SMTP_FROM: required"},
		{name: "bad from", env: with("CIVIC_SMTP_FROM", "certification"), err: `CIVIC_SMTP_FROM "certification": not an e-mail address`},
		{name: "no to", env: with("CIVIC_NOTIFY_TO", ""), err: "CIVIC_NOTIFY_TO: required"},
		{name: "misspelt placeholder", env: with("CIVIC_NOTIFY_TO", "c+{municipalty}@example.org"), err: "the only placeholder is {municipality}"},
		{name: "to without a domain", env: with("CIVIC_NOTIFY_TO", "{municipality}"), err: `CIVIC_NOTIFY_TO "{municipality}": not an e-mail address`},
		{name: "user without password", env: with("CIVIC_SMTP_USER", "u"), err: "CIVIC_SMTP_USER and CIVIC_SMTP_PASSWORD: set both or neither"},
		{name: "password in clear", env: with("CIVIC_SMTP_TLS", "off", "CIVIC_SMTP_USER", "u", "CIVIC_SMTP_PASSWORD", "p"),
			err: "CIVIC_SMTP_USER: a password is sent in clear"},
		{name: "unknown TLS mode", env: with("CIVIC_SMTP_TLS", "ssl"), err: `CIVIC_SMTP_TLS "ssl": want starttls, tls or off`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := notify.ReadSettings(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ReadSettings(%v) = %v; want an error containing %q", tt.env, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadSettings(%v) = %v", tt.env, err)
			}
			if (s.SMTP != nil) != tt.smtp || s.MaxAge != tt.maxAge {
				t.Fatalf("ReadSettings(%v) = SMTP %+v, max age %v; want SMTP %v, max age %v", tt.env, s.SMTP, s.MaxAge, tt.smtp, tt.maxAge)
			}
			sender, err := s.Sender(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.smtp {
				if _, ok := sender.(notify.LogSender); !ok {
					t.Errorf("Sender() = %T, want the log sender", sender)
				}
				return
			}
			if s.SMTP.TLS != tt.tlsMode {
				t.Errorf("TLS mode = %q, want %q", s.SMTP.TLS, tt.tlsMode)
			}
			smtpSender, ok := sender.(*notify.SMTPSender)
			if !ok {
				t.Fatalf("Sender() = %T, want the SMTP sender", sender)
			}
			want := strings.ReplaceAll(tt.env["CIVIC_NOTIFY_TO"], "{municipality}", "batumi")
			if a, err := smtpSender.Recipient("batumi"); err != nil || a.Address != want {
				t.Errorf("Recipient(batumi) = %v, %v; want %s", a, err, want)
			}
		})
	}
}
