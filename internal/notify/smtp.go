package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// TLS modes of an SMTP relay (CIVIC_SMTP_TLS).
const (
	// TLSStartTLS upgrades the connection with STARTTLS, and refuses to
	// send when the relay does not offer it, unless the relay is on this
	// machine. The default.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (submissions on port 465).
	TLSImplicit = "tls"
	// TLSOff sends in clear, for a relay on a trusted network; it takes no
	// password unless the relay is on this machine.
	TLSOff = "off"
)

// MunicipalityPlaceholder is what CIVIC_NOTIFY_TO's template has replaced
// by the code of the municipality told, as the data holds no address of
// municipalities.
const MunicipalityPlaceholder = "{municipality}"

// SMTPConfig says how to send notifications by SMTP. Each field comes from
// one setting, which the errors of Validate name.
type SMTPConfig struct {
	// Addr is the relay's host:port (CIVIC_SMTP_ADDR).
	Addr string
	// From is the sender, "Name <address>" or an address (CIVIC_SMTP_FROM).
	From string
	// To is the recipient's address with MunicipalityPlaceholder where the
	// municipality's code goes, such as certification+{municipality}@example.org
	// (CIVIC_NOTIFY_TO). Without the placeholder, every notification goes
	// to the one address, for a programme office that forwards them.
	To string
	// User and Password, both or neither, authenticate with AUTH PLAIN
	// (CIVIC_SMTP_USER, CIVIC_SMTP_PASSWORD); only over TLS, or to a relay
	// on this machine.
	User, Password string
	// TLS is TLSStartTLS (when empty), TLSImplicit or TLSOff
	// (CIVIC_SMTP_TLS).
	TLS string
	// TLSConfig, when set, replaces the default TLS settings (the relay's
	// host name checked against the system's roots), for a relay with a
	// private certificate authority.
	TLSConfig *tls.Config
}

// Validate checks the configuration, naming the setting at fault.
func (c *SMTPConfig) Validate() error {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return fmt.Errorf("CIVIC_SMTP_ADDR %q: want host:port, such as smtp.example.org:587", c.Addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("CIVIC_SMTP_ADDR %q: port %q is not a number from 1 to 65535", c.Addr, port)
	}
	if c.From == "" {
		return errors.New("CIVIC_SMTP_FROM: required with CIVIC_SMTP_ADDR (the sender's address, such as Civic Ledger <certification@example.org>)")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("CIVIC_SMTP_FROM %q: not an e-mail address (%v)", c.From, err)
	}
	if c.To == "" {
		return fmt.Errorf("CIVIC_NOTIFY_TO: required with CIVIC_SMTP_ADDR (the recipient, with %s for the municipality's code, such as certification+%s@example.org)",
			MunicipalityPlaceholder, MunicipalityPlaceholder)
	}
	sample := strings.ReplaceAll(c.To, MunicipalityPlaceholder, "gori")
	if strings.ContainsAny(sample, "{}") {
		return fmt.Errorf("CIVIC_NOTIFY_TO %q: the only placeholder is %s", c.To, MunicipalityPlaceholder)
	}
	if _, err := mail.ParseAddress(sample); err != nil {
		return fmt.Errorf("CIVIC_NOTIFY_TO %q: not an e-mail address once %s is replaced (%v)", c.To, MunicipalityPlaceholder, err)
	}
	if (c.User == "") != (c.Password == "") {
		return errors.New("CIVIC_SMTP_USER and CIVIC_SMTP_PASSWORD: set both or neither")
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSOff:
		if c.User != "" && !isLocalhost(host) {
			return fmt.Errorf("CIVIC_SMTP_USER: a password is sent in clear with CIVIC_SMTP_TLS=off; use starttls or tls, or a relay on localhost (%s is not)", host)
		}
	default:
		return fmt.Errorf("CIVIC_SMTP_TLS %q: want starttls, tls or off", c.TLS)
	}
	return nil
}

// isLocalhost reports whether host is this machine by the names the SMTP
// clients (net/smtp, and go-mail's smtp after it) trust with a password in
// clear. 127.0.0.2 and the like are left out on purpose: the AUTH PLAIN
// check below these names is go-mail's, and the two must agree.
func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// SMTPSender sends notifications by SMTP, one connection per message, to
// the address CIVIC_NOTIFY_TO makes of the municipality's code. The SMTP
// conversation and the MIME message are github.com/wneessen/go-mail's; what
// stays here is the policy go-mail cannot be told: when a missing STARTTLS
// is acceptable, when a password may go out, and that the context ends the
// conversation and not only the dial.
type SMTPSender struct {
	cfg   SMTPConfig
	host  string
	port  int
	from  *mail.Address
	hello string
	// msgDomain is the right side of Message-IDs: the sender's domain.
	msgDomain string
}

// NewSMTPSender returns a sender for cfg, or Validate's error.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, portStr, _ := net.SplitHostPort(cfg.Addr)
	port, _ := strconv.Atoi(portStr)       // checked by Validate
	from, _ := mail.ParseAddress(cfg.From) // checked by Validate
	hello, err := os.Hostname()
	if err != nil || hello == "" {
		hello = "localhost"
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	return &SMTPSender{cfg: cfg, host: host, port: port, from: from, hello: hello, msgDomain: domain}, nil
}

// Recipient returns the address notifications to municipality go to.
func (s *SMTPSender) Recipient(municipality string) (*mail.Address, error) {
	to := strings.ReplaceAll(s.cfg.To, MunicipalityPlaceholder, municipality)
	a, err := mail.ParseAddress(to)
	if err != nil {
		return nil, fmt.Errorf("recipient %q of municipality %q: %w", to, municipality, err)
	}
	return a, nil
}

// Send implements Sender: one SMTP transaction, ended by ctx or its
// deadline.
func (s *SMTPSender) Send(ctx context.Context, n Notification) error {
	to, err := s.Recipient(n.Municipality)
	if err != nil {
		return err
	}
	if err := s.send(ctx, s.message(n, to, time.Now())); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp %s: %w (%v)", s.cfg.Addr, ctx.Err(), err)
		}
		return fmt.Errorf("smtp %s: %w", s.cfg.Addr, err)
	}
	return nil
}

func (s *SMTPSender) tlsConfig() *tls.Config {
	if s.cfg.TLSConfig != nil {
		c := s.cfg.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = s.host
		}
		return c
	}
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

// send delivers msg over a connection of its own. go-mail dials, greets,
// upgrades with STARTTLS and runs MAIL, RCPT and DATA; the rest is here.
func (s *SMTPSender) send(ctx context.Context, msg *gomail.Msg) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// go-mail heeds ctx only while dialling; after that its own timeout
	// bounds each step. It gets ctx's deadline and a second more, a
	// backstop: ctx's end itself stops the conversation through conn.
	timeout := gomail.DefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl)+time.Second, time.Second)
	}
	var conn *ctxConn
	defer func() {
		// go-mail leaves the connection open when the greeting, EHLO or
		// STARTTLS fails; closing it here covers every way out.
		if conn != nil {
			conn.Close()
		}
	}()
	dial := func(dialCtx context.Context, network, _ string) (net.Conn, error) {
		// cfg.Addr rather than go-mail's address: go-mail joins host and
		// port without brackets, which breaks an IPv6 literal.
		var d net.Dialer
		c, err := d.DialContext(dialCtx, network, s.cfg.Addr)
		if err != nil {
			return nil, err
		}
		conn = newCtxConn(ctx, c)
		if s.cfg.TLS != TLSImplicit {
			return conn, nil
		}
		// go-mail's own TLS dialer is not used once the dial is ours, so
		// implicit TLS is done here; go-mail sees a *tls.Conn and treats
		// the connection as encrypted.
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(dialCtx); err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		return tc, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port), gomail.WithHELO(s.hello), gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(s.tlsConfig()), gomail.WithDialContextFunc(dial),
		// A NOOP before the message and a RSET after it serve a connection
		// reused for many messages; this one carries a single message and
		// then QUITs, so they only add round trips and failure modes.
		gomail.WithoutNoop(), gomail.WithoutRset(),
	}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSOff:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		// Opportunistic, not TLSMandatory: a relay on this machine may
		// lack STARTTLS, and one elsewhere is refused below with a message
		// that says which setting to change.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	// No AUTH option: go-mail would authenticate inside the dial, before
	// the check below could refuse a relay without STARTTLS.
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return err
	}
	c, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return err
	}
	if s.cfg.TLS == TLSStartTLS && !isLocalhost(s.host) {
		if _, err := c.GetTLSConnectionState(); err != nil {
			return errors.New("the relay does not offer STARTTLS; set CIVIC_SMTP_TLS=tls for implicit TLS, or off to send in clear")
		}
	}
	if s.cfg.User != "" {
		if ok, mechs := c.Extension("AUTH"); !ok || !slices.Contains(strings.Fields(strings.ToUpper(mechs)), "PLAIN") {
			return errors.New("the relay offers no AUTH PLAIN, and CIVIC_SMTP_USER is set")
		}
		// allowUnenc false: go-mail refuses to send the password unless
		// the connection is TLS or the relay is on this machine.
		if err := c.Auth(gosmtp.PlainAuth("", s.cfg.User, s.cfg.Password, s.host, false)); err != nil {
			return fmt.Errorf("AUTH PLAIN as %s: %w", s.cfg.User, err)
		}
	}
	if err := client.SendWithSMTPClient(c, msg); err != nil {
		return err
	}
	// The relay has taken the message; a failed QUIT loses nothing.
	c.Quit()
	return nil
}

// ctxConn is a connection that ctx's end interrupts. go-mail passes a
// context to the dial only, and moves the connection's deadline forward
// as the conversation goes on; so when ctx ends a deadline in the past
// ends whatever read or write is under way, and every deadline set later
// is in the past too, so that go-mail cannot revive the connection.
type ctxConn struct {
	net.Conn
	ctx  context.Context
	stop func() bool
	// mu orders go-mail's deadlines with the one ctx's end sets.
	mu sync.Mutex
}

// expired is a deadline in the past.
var expired = time.Unix(1, 0)

func newCtxConn(ctx context.Context, conn net.Conn) *ctxConn {
	c := &ctxConn{Conn: conn, ctx: ctx}
	c.stop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.Conn.SetDeadline(expired)
	})
	return c
}

func (c *ctxConn) setDeadline(set func(time.Time) error, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		t = expired
	}
	return set(t)
}

// SetDeadline, SetReadDeadline and SetWriteDeadline pass go-mail's
// deadlines on until ctx ends, and a past one after.
func (c *ctxConn) SetDeadline(t time.Time) error {
	return c.setDeadline(c.Conn.SetDeadline, t)
}

func (c *ctxConn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(c.Conn.SetReadDeadline, t)
}

func (c *ctxConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(c.Conn.SetWriteDeadline, t)
}

// Close closes the connection and lets go of ctx.
func (c *ctxConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// message is n as a go-mail message: UTF-8 text, base64 (the Georgian
// half is all multi-byte, which quoted-printable would triple), its
// Message-ID made from the notification, so that a repeat (sending is at
// least once) is recognisably the same. go-mail encodes the subject (RFC
// 2047 B-words, as the base64 encoding chooses) and the body.
func (s *SMTPSender) message(n Notification, to *mail.Address, now time.Time) *gomail.Msg {
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingB64),
		// No User-Agent naming go-mail's version: it tells the recipient
		// nothing, and an attacker which library to aim at.
		gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(s.from)
	m.ToMailAddress(to)
	m.Subject(n.Subject)
	m.SetDateWithValue(now)
	m.SetMessageIDWithValue(fmt.Sprintf("civic-notification-%d-%s@%s", n.Position, n.EventID, s.msgDomain))
	// RFC 3834: no auto-replies (out of office) to a machine's message.
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	// Text in canonical form (RFC 2045): base64 keeps line ends as given.
	m.SetBodyString(gomail.TypeTextPlain, strings.ReplaceAll(n.Body, "\n", "\r\n"))
	return m
}

// Settings are the outbox's settings, read from the environment by
// ReadSettings.
type Settings struct {
	// SMTP is how to send, nil to write notifications to the log.
	SMTP *SMTPConfig
	// MaxAge is NotifierOptions.MaxAge (CIVIC_NOTIFY_MAX_AGE).
	MaxAge time.Duration
}

// ReadSettings reads the outbox's settings with getenv. Without
// CIVIC_SMTP_ADDR notifications go to the log, and the other SMTP
// settings must be unset too: one set alone is a mistake to report, not to
// ignore. Errors name the setting at fault.
func ReadSettings(getenv func(string) string) (Settings, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	s := Settings{MaxAge: DefaultMaxAge}
	if v := get("CIVIC_NOTIFY_MAX_AGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Settings{}, fmt.Errorf("CIVIC_NOTIFY_MAX_AGE %q: want a duration such as 720h (0: no limit)", v)
		}
		s.MaxAge = d
		if d == 0 {
			s.MaxAge = -1
		}
	}
	c := SMTPConfig{
		Addr: get("CIVIC_SMTP_ADDR"), From: get("CIVIC_SMTP_FROM"), To: get("CIVIC_NOTIFY_TO"),
		User: get("CIVIC_SMTP_USER"), Password: getenv("CIVIC_SMTP_PASSWORD"), TLS: strings.ToLower(get("CIVIC_SMTP_TLS")),
	}
	if c.Addr == "" {
		for _, f := range []struct{ name, value string }{
			{"CIVIC_SMTP_FROM", c.From}, {"CIVIC_NOTIFY_TO", c.To}, {"CIVIC_SMTP_USER", c.User},
			{"CIVIC_SMTP_PASSWORD", c.Password}, {"CIVIC_SMTP_TLS", c.TLS},
		} {
			if f.value != "" {
				return Settings{}, fmt.Errorf("%s is set but CIVIC_SMTP_ADDR is not: set CIVIC_SMTP_ADDR to send notifications by SMTP, or unset %s to write them to the log", f.name, f.name)
			}
		}
		return s, nil
	}
	if err := c.Validate(); err != nil {
		return Settings{}, err
	}
	s.SMTP = &c
	return s, nil
}

// Sender returns the sender the settings choose: SMTP, or the log.
func (s Settings) Sender(log *slog.Logger) (Sender, error) {
	if s.SMTP == nil {
		return LogSender{Logger: log}, nil
	}
	return NewSMTPSender(*s.SMTP)
}
