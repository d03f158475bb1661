package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// fill sets every settable field under v (recursively: structs, pointers,
// slices of two elements, maps of one entry) to a value derived from
// seed, so that two fills with different seeds differ everywhere.
func fill(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(int64(1_700_000_000+seed), 0).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				fill(v.Field(i), seed)
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		}
		for i := range v.Len() {
			fill(v.Index(i), seed+i)
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, 0)
		fill(e, seed)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("s" + string(rune('a'+seed%26)))
	case reflect.Bool:
		v.SetBool(seed%2 == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(seed))
	case reflect.Uint8, reflect.Uint64, reflect.Uint32, reflect.Uint:
		v.SetUint(uint64(seed))
	}
}

// TestCopiesShareNothing: what GetOrg and GetToken return from the shared
// decoded-record cache is a copy a caller may change in every field,
// however deep, without changing the cached record. Fails when a field
// added to Org or Token is shared (a slice, pointer or map not copied).
func TestCopiesShareNothing(t *testing.T) {
	for _, c := range []struct {
		name   string
		record any           // a pointer to the cached record type
		copyOf func(any) any // what a reader gets
	}{
		{"org", &Org{}, func(r any) any { return r.(*Org).clone() }},
		{"token", &tokenRecord{}, func(r any) any { return r.(*tokenRecord).token() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			fill(reflect.ValueOf(c.record), 1)
			before, err := json.Marshal(c.record)
			if err != nil {
				t.Fatal(err)
			}
			cp := c.copyOf(c.record)
			fill(reflect.ValueOf(cp), 2) // change everything in the copy (other parity: bools too)
			after, _ := json.Marshal(c.record)
			if string(before) != string(after) {
				t.Fatalf("changing the copy changed the cached record:\nbefore %s\nafter  %s", before, after)
			}
			if changed, _ := json.Marshal(cp); string(changed) == string(before) {
				t.Fatal("the copy did not change: the test changes nothing")
			}
		})
	}
}
