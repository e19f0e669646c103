package config

import (
	"reflect"
	"sort"
	"strings"
)

// unknownKeys lists the dotted paths of keys in raw that no field of v's type accepts.
func unknownKeys(raw any, v any) []string {
	var out []string
	walkKeys(raw, reflect.TypeOf(v), "", &out)
	sort.Strings(out)
	return out
}

func walkKeys(raw any, t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		if t.Name() == "Duration" { // metav1.Duration is a string in YAML
			return
		}
		fields := map[string]reflect.Type{}
		jsonFields(t, fields)
		for k, val := range m {
			ft, ok := fields[k]
			if !ok {
				*out = append(*out, join(path, k))
				continue
			}
			walkKeys(val, ft, join(path, k), out)
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		for k, val := range m {
			walkKeys(val, t.Elem(), join(path, k), out)
		}
	}
}

// jsonFields collects the JSON keys of struct type t, flattening embedded structs as
// encoding/json does.
func jsonFields(t reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			jsonFields(f.Type, into)
		case name != "" && name != "-":
			into[name] = f.Type
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
