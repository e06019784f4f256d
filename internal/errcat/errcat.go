// Package errcat builds errors that belong to exactly one of a set of
// category sentinels, however many categories their causes match.
package errcat

import (
	"errors"
	"reflect"
	"slices"
	"strings"
)

// Only reports whether err matches kind and none of the other sentinels
// in categories.
func Only(err, kind error, categories []error) bool {
	if !errors.Is(err, kind) {
		return false
	}
	for _, c := range categories {
		if c != kind && errors.Is(err, c) {
			return false
		}
	}
	return true
}

// Wrap returns an error with message msg (kind's message followed by the
// causes' when msg is empty) that matches kind and, through causes,
// everything they match except the sentinels of categories other than
// kind: errors.Is finds none of those anywhere in the causes' chains,
// while errors.Is for any other target and errors.As reach every error
// in them.
func Wrap(kind error, categories []error, msg string, causes ...error) error {
	if msg == "" {
		msg = Message(kind, causes...)
	}
	var hide []error
	for _, c := range categories {
		if c != kind {
			hide = append(hide, c)
		}
	}
	e := &categorized{msg: msg, kind: kind}
	for _, c := range causes {
		if c != nil {
			e.causes = append(e.causes, &masked{err: c, hide: hide})
		}
	}
	return e
}

// Message joins the messages of kind and causes with ": ", leaving kind
// out when the first cause already starts with it.
func Message(kind error, causes ...error) string {
	parts := make([]string, 0, len(causes)+1)
	for _, c := range causes {
		if c != nil {
			parts = append(parts, c.Error())
		}
	}
	if len(parts) == 0 || !strings.HasPrefix(parts[0], kind.Error()) {
		parts = append([]string{kind.Error()}, parts...)
	}
	return strings.Join(parts, ": ")
}

// categorized is the error of Wrap.
type categorized struct {
	msg    string
	kind   error
	causes []error
}

func (e *categorized) Error() string { return e.msg }

func (e *categorized) Unwrap() []error { return append([]error{e.kind}, e.causes...) }

// masked stands for err in an error tree: it matches what err matches
// itself, and its children are err's children, masked in turn, so that
// errors.Is never reaches a sentinel in hide.
type masked struct {
	err  error
	hide []error
}

func (m *masked) Error() string { return m.err.Error() }

func (m *masked) Is(target error) bool {
	if slices.Contains(m.hide, target) {
		return false
	}
	if t := reflect.TypeOf(target); t != nil && t.Comparable() && m.err == target {
		return true
	}
	x, ok := m.err.(interface{ Is(error) bool })
	return ok && x.Is(target)
}

// As matches err itself as errors.As would; errors.As visits err's
// children through Unwrap.
func (m *masked) As(target any) bool {
	v := reflect.ValueOf(target).Elem()
	if reflect.TypeOf(m.err).AssignableTo(v.Type()) {
		v.Set(reflect.ValueOf(m.err))
		return true
	}
	x, ok := m.err.(interface{ As(any) bool })
	return ok && x.As(target)
}

func (m *masked) Unwrap() []error {
	var kids []error
	switch x := m.err.(type) {
	case interface{ Unwrap() error }:
		if k := x.Unwrap(); k != nil {
			kids = []error{k}
		}
	case interface{ Unwrap() []error }:
		kids = x.Unwrap()
	}
	out := make([]error, 0, len(kids))
	for _, k := range kids {
		if k != nil {
			out = append(out, &masked{err: k, hide: m.hide})
		}
	}
	return out
}
