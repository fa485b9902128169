package notify

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"
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

// isLocalhost reports whether host is this machine by the names net/smtp
// trusts with a password in clear.
func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// SMTPSender sends notifications by SMTP, one connection per message, to
// the address CIVIC_NOTIFY_TO makes of the municipality's code. It uses
// the standard library only.
type SMTPSender struct {
	cfg   SMTPConfig
	host  string
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
	host, _, _ := net.SplitHostPort(cfg.Addr)
	from, _ := mail.ParseAddress(cfg.From) // checked by Validate
	hello, err := os.Hostname()
	if err != nil || hello == "" {
		hello = "localhost"
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	return &SMTPSender{cfg: cfg, host: host, from: from, hello: hello, msgDomain: domain}, nil
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
	msg := s.message(n, to, time.Now())
	if err := s.send(ctx, to.Address, msg); err != nil {
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

func (s *SMTPSender) send(ctx context.Context, rcpt string, msg []byte) error {
	var d net.Dialer
	var conn net.Conn
	var err error
	if s.cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: s.tlsConfig()}).DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return err
	}
	// net/smtp knows no context: when ctx ends, a deadline in the past
	// ends whatever read or write is under way. (A deadline at ctx's own
	// could fire before ctx reports its end, and the error would not say
	// why; one a little later is only a backstop.)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl.Add(time.Second))
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(s.hello); err != nil {
		return err
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		} else if !isLocalhost(s.host) {
			return errors.New("the relay does not offer STARTTLS; set CIVIC_SMTP_TLS=tls for implicit TLS, or off to send in clear")
		}
	}
	if s.cfg.User != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the relay offers no AUTH, and CIVIC_SMTP_USER is set")
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.User, s.cfg.Password, s.host)); err != nil {
			return fmt.Errorf("AUTH PLAIN as %s: %w", s.cfg.User, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("RCPT TO %s: %w", rcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The relay has taken the message; a failed QUIT loses nothing.
	c.Quit()
	return nil
}

// message is n as an RFC 5322 message: UTF-8 text, base64 (the Georgian
// half is all multi-byte), its Message-ID made from the notification, so
// that a repeat (sending is at least once) is recognisably the same.
func (s *SMTPSender) message(n Notification, to *mail.Address, now time.Time) []byte {
	var b strings.Builder
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", s.from.String())
	header("To", to.String())
	header("Subject", mime.BEncoding.Encode("utf-8", n.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", fmt.Sprintf("<civic-notification-%d-%s@%s>", n.Position, n.EventID, s.msgDomain))
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	body := base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(n.Body, "\n", "\r\n")))
	for len(body) > 76 {
		b.WriteString(body[:76] + "\r\n")
		body = body[76:]
	}
	b.WriteString(body + "\r\n")
	return []byte(b.String())
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
