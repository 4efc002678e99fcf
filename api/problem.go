package api

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"huigong/engine/welfare"
)

// Problem is an RFC 9457 problem detail with huigong's stable code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
	// RoomLeft says, with cap_exceeded and budget_insufficient, what is still allowed.
	RoomLeft string `json:"room_left,omitempty"`
}

// apiError is an error that carries its problem; handlers return it and the error handler
// writes it.
type apiError struct{ p Problem }

func (e *apiError) Error() string { return e.p.Code + ": " + e.p.Detail }

// fail returns an error the error handler turns into a problem+json answer.
func fail(status int, code, detail string) error {
	return &apiError{p: Problem{Type: "https://huigong.dev/problems/" + code, Title: http.StatusText(status), Status: status, Code: code, Detail: detail}}
}

// Stable codes of the API's own checks; the engine's codes (welfare.Code names) are used as
// they are.
const (
	codeBadRequest       = "bad_request"
	codeBadJSON          = "malformed_json"
	codeUnknownField     = "unknown_field"
	codeBadContentType   = "unsupported_media_type"
	codeTooLarge         = "body_too_large"
	codeBadAmount        = "invalid_amount"
	codeUnauthenticated  = "unauthenticated"
	codeTokenExpired     = "token_expired"
	codeForbidden        = "forbidden"
	codeBadSignature     = "bad_signature"
	codeStaleSignature   = "stale_signature"
	codeReplayed         = "replayed_nonce"
	codeNotFound         = "not_found"
	codeRateLimited      = "rate_limited"
	codeIdempotencyKey   = "idempotency_key_required"
	codeInternal         = "internal"
	codeUnavailable      = "unavailable"
	codeMethodNotAllowed = "method_not_allowed"
)

// engineStatus maps the engine's codes to HTTP statuses, in one place.
func engineStatus(c welfare.Code) int {
	switch c {
	case welfare.OK:
		return http.StatusOK
	case welfare.Exists:
		return http.StatusOK
	case welfare.UnknownUnion, welfare.UnknownMember, welfare.UnknownProgram, welfare.UnknownOrder,
		welfare.UnknownSKU, welfare.UnknownAward:
		return http.StatusNotFound
	case welfare.UnknownOfficer:
		return http.StatusForbidden
	case welfare.InvalidAmount, welfare.InvalidWindow, welfare.InvalidCategory, welfare.InvalidGift,
		welfare.InvalidConfig, welfare.InvalidID, welfare.InvalidOrder, welfare.InvalidSKU, welfare.InvalidQuantity:
		return http.StatusUnprocessableEntity
	}
	return http.StatusConflict // A business refusal: the request was fine, the state says no.
}

// engineFail turns an engine refusal into a problem.
func engineFail(c welfare.Code, detail string) error {
	return fail(engineStatus(c), c.String(), detail)
}

// errorHandler writes every error as problem+json and logs only internal ones.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var ae *apiError
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &fe):
		code := codeBadRequest
		switch fe.Code {
		case fiber.StatusNotFound:
			code = codeNotFound
		case fiber.StatusRequestEntityTooLarge:
			code = codeTooLarge
		case fiber.StatusMethodNotAllowed:
			code = codeMethodNotAllowed
		case fiber.StatusUnsupportedMediaType:
			code = codeBadContentType
		}
		ae = fail(fe.Code, code, fe.Message).(*apiError)
	default:
		s.deps.Logger.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
		ae = fail(http.StatusInternalServerError, codeInternal, "internal error").(*apiError)
	}
	c.Status(ae.p.Status)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.JSON(ae.p, "application/problem+json")
}
