package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/projections"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error codes in extensions.code, by domain error kind.
var kindCodes = map[domain.Kind]string{
	domain.Invalid:         "BAD_USER_INPUT",
	domain.NotFound:        "NOT_FOUND",
	domain.Conflict:        "CONFLICT",
	domain.Unauthenticated: "UNAUTHENTICATED",
	domain.Forbidden:       "FORBIDDEN",
	domain.Internal:        "INTERNAL",
}

// presentError gives every error a code in extensions.code. The message of
// an internal error never reaches the client: it is logged with the
// request's correlation ID, which the client gets instead.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		var derr *domain.Error
		switch {
		case errors.As(err, &derr) && derr.Kind != domain.Internal:
			gerr.Message = derr.Message
			gerr.Extensions["code"] = kindCodes[derr.Kind]
			if len(derr.Details) > 0 {
				// Every invalid field, each with what is wrong with it.
				gerr.Extensions["problems"] = derr.Details
			}
		case gerr.Extensions["code"] != nil && errors.As(err, new(*gqlerror.Error)) && !wrapsOther(err):
			// gqlgen's own errors (validation, coercion of arguments)
			// already say what is wrong and carry their code.
		case errors.Is(err, context.DeadlineExceeded):
			gerr.Message = "the request took too long and was stopped"
			gerr.Extensions["code"] = "TIMEOUT"
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			// The request's context ended (its budget, or the client
			// left): execute logs that once for the request.
			gerr.Message = "the request was stopped before this field was resolved"
			gerr.Extensions["code"] = "TIMEOUT"
		case errors.Is(err, eventstore.ErrUnavailable):
			// KurrentDB without quorum, say: the caller may try again.
			// A mutation cut short so may or may not have been recorded
			// (its events carry new IDs each time), so the message says
			// to read it back first.
			log.WarnContext(ctx, "event store unavailable", "err", err, "path", gerr.Path.String(), "correlation_id", correlationID(ctx))
			gerr.Message = "the event store is unavailable: try again shortly (a change asked for may or may not have been recorded: read it back before repeating it)"
			gerr.Extensions["code"] = "UNAVAILABLE"
		case projections.IsStatementTimeout(err):
			// The statement timeout guards the database against one
			// query; the caller can narrow the query or try later.
			gerr.Message = "the query took longer than the server allows one database statement and was stopped"
			gerr.Extensions["code"] = "TIMEOUT"
		default:
			id := correlationID(ctx)
			log.ErrorContext(ctx, "internal error", "err", err, "path", gerr.Path.String(), "correlation_id", id)
			gerr.Message = fmt.Sprintf("internal error (correlation ID %s)", id)
			gerr.Extensions["code"] = "INTERNAL"
		}
		return gerr
	}
}

// wrapsOther reports whether a gqlerror wraps an error of ours, whose
// kind decides.
func wrapsOther(err error) bool {
	var gerr *gqlerror.Error
	return errors.As(err, &gerr) && gerr.Err != nil
}

// recoverPanic turns a panic in a resolver into an internal error, logged
// with its stack; the server stays up.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", p, "stack", string(debug.Stack()), "correlation_id", correlationID(ctx))
		return domain.Wrap(fmt.Errorf("panic: %v", p), "resolver")
	}
}
