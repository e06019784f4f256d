package main

import "strings"

// encryptionContext parses --encryption-context where only pairs are
// taken (encrypt, the s3 commands).
func (f *keyFlags) encryptionContext() (map[string]string, error) {
	ec, names, err := f.contextAndNames()
	if err == nil && len(names) > 0 {
		err = usagef("--encryption-context %q: want key=value", names[0])
	}
	return ec, err
}

// splitContext splits --encryption-context values into items. A comma or
// space starts a new item only where what follows is a pair (holds "=") or
// where no pair came before: a value may itself hold commas and spaces
// ("-c 'org=Acme, Inc.'"), and bare names still separate ("-c a,b").
func splitContext(vals []string) []string {
	isSep := func(r rune) bool { return r == ',' || r == ' ' }
	var out []string
	for _, v := range vals {
		start := len(out)
		for v != "" {
			i := strings.IndexFunc(v, func(r rune) bool { return !isSep(r) })
			if i < 0 {
				break
			}
			sep := v[:i]
			v = v[i:]
			j := strings.IndexFunc(v, isSep)
			if j < 0 {
				j = len(v)
			}
			tok := v[:j]
			v = v[j:]
			if n := len(out); n > start && strings.Contains(out[n-1], "=") && !strings.Contains(tok, "=") {
				out[n-1] += sep + tok
			} else {
				out = append(out, tok)
			}
		}
	}
	return out
}

// contextAndNames parses --encryption-context into pairs and, as the AWS
// Encryption CLI takes on decrypt, bare names that the message must hold
// with any value.
func (f *keyFlags) contextAndNames() (map[string]string, []string, error) {
	pairs := splitContext(f.context)
	if len(pairs) == 0 {
		return nil, nil, nil
	}
	var ec map[string]string
	var names []string
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if k == "" {
			return nil, nil, usagef("--encryption-context %q: want key=value", p)
		}
		if !ok {
			names = append(names, k)
			continue
		}
		if ec == nil {
			ec = make(map[string]string, len(pairs))
		}
		if _, dup := ec[k]; dup {
			return nil, nil, usagef("--encryption-context: key %q given twice", k)
		}
		ec[k] = v
	}
	return ec, names, nil
}
