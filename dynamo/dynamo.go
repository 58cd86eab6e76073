// Package dynamo is a [state.Store] backed by an Amazon DynamoDB table, so
// that every instance of a Lambda function sees the same sessions, app
// state and single-use markers. It is the only package of the state
// machinery that imports the AWS SDK.
//
// The table has a string partition key (attribute "pk" by default) and no
// sort key; enable DynamoDB TTL on the expiry attribute ("expires_at" by
// default) so expired items are eventually deleted. Reads ignore expired
// items themselves, because DynamoDB deletes them late (often hours).
// Each item also holds its value ("val", binary) and version ("ver",
// number); conditional writes on "ver" give compare-and-swap.
//
// Quick start:
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	store, err := dynamo.New(ctx, dynamodb.NewFromConfig(cfg), "mcp-state", nil)
//	if err != nil {
//		log.Fatal(err) // e.g. dynamo.ErrTableNotFound, at init rather than per request
//	}
//
// Or let the environment choose, so that one program runs unchanged in
// Lambda (the table in MCPLAMBDA_TABLE), under `mcplambda dev` (a
// state.Dir shared by its instances) and as a local server (memory): see
// [StoreFromEnv].
//
//	store, err := dynamo.StoreFromEnv(ctx, nil)
//
// Reads are strongly consistent (one GetItem); a write is one UpdateItem
// or DeleteItem. Throttled requests are retried by the SDK client's
// retryer (the default retries throttling errors with backoff); give the
// client more attempts with retry.AddWithMaxAttempts if you expect bursts.
// The function's role needs dynamodb:DescribeTable (at init), GetItem,
// UpdateItem and DeleteItem on the table.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/mcplambda/mcplambda/state"
)

// Errors from [New].
var (
	// ErrTableNotFound: the table does not exist (or is not visible to
	// the credentials in use).
	ErrTableNotFound = errors.New("dynamo: table not found")
	// ErrTableSchema: the table's key schema is not a single string
	// partition key named Options.KeyAttribute.
	ErrTableSchema = errors.New("dynamo: table has the wrong key schema")
)

// Client is the part of *dynamodb.Client that Store uses.
type Client interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ Client = (*dynamodb.Client)(nil)

// Options configures [New]. A nil *Options means defaults.
type Options struct {
	// KeyAttribute is the table's partition key (type S). If empty, "pk".
	KeyAttribute string
	// TTLAttribute is the attribute holding the expiry in epoch seconds,
	// the one DynamoDB TTL is enabled on. If empty, "expires_at".
	TTLAttribute string
	// KeyPrefix is prepended to every key, so several functions can share
	// a table. Empty means none.
	KeyPrefix string
	// Now returns the current time, for expiry. If nil, time.Now.
	Now func() time.Time
}

// Store is a [state.Store] in a DynamoDB table. Safe for concurrent use,
// by goroutines and by any number of Lambda instances.
type Store struct {
	client Client
	table  string
	key    string
	ttl    string
	prefix string
	now    func() time.Time
}

var _ state.Store = (*Store)(nil)

const (
	valueAttr   = "val"
	versionAttr = "ver"
)

// New returns a Store on table after checking, with one DescribeTable
// call, that the table exists and has the expected key: a missing or
// misconfigured table is reported here, at init, rather than on every
// request.
func New(ctx context.Context, client Client, table string, opts *Options) (*Store, error) {
	s := &Store{client: client, table: table, key: "pk", ttl: "expires_at", now: time.Now}
	if opts != nil {
		if opts.KeyAttribute != "" {
			s.key = opts.KeyAttribute
		}
		if opts.TTLAttribute != "" {
			s.ttl = opts.TTLAttribute
		}
		if opts.Now != nil {
			s.now = opts.Now
		}
		s.prefix = opts.KeyPrefix
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("%w: %q: %v", ErrTableNotFound, table, err)
		}
		return nil, fmt.Errorf("dynamo: describing table %q: %w", table, err)
	}
	if err := s.checkSchema(out.Table); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) checkSchema(t *types.TableDescription) error {
	if t == nil || len(t.KeySchema) != 1 || aws.ToString(t.KeySchema[0].AttributeName) != s.key {
		return fmt.Errorf("%w: %q must have only a partition key named %q", ErrTableSchema, s.table, s.key)
	}
	for _, a := range t.AttributeDefinitions {
		if aws.ToString(a.AttributeName) == s.key && a.AttributeType != types.ScalarAttributeTypeS {
			return fmt.Errorf("%w: partition key %q of %q must be a string", ErrTableSchema, s.key, s.table)
		}
	}
	return nil
}

func (s *Store) itemKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{s.key: &types.AttributeValueMemberS{Value: s.prefix + key}}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Get implements [state.Store] with one strongly consistent GetItem.
func (s *Store) Get(ctx context.Context, key string) (*state.Item, error) {
	if err := state.CheckKey(key); err != nil {
		return nil, err
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            s.itemKey(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	if out.Item == nil {
		return nil, state.ErrNotFound
	}
	it := &state.Item{}
	if v, ok := out.Item[valueAttr].(*types.AttributeValueMemberB); ok {
		it.Value = v.Value
	}
	if it.Value == nil {
		it.Value = []byte{}
	}
	if v, ok := out.Item[versionAttr].(*types.AttributeValueMemberN); ok {
		it.Version, _ = strconv.ParseInt(v.Value, 10, 64)
	}
	if v, ok := out.Item[s.ttl].(*types.AttributeValueMemberN); ok {
		sec, _ := strconv.ParseInt(v.Value, 10, 64)
		it.Expires = time.Unix(sec, 0)
		// DynamoDB deletes expired items late: filter them here.
		if !s.now().Before(it.Expires) {
			return nil, state.ErrNotFound
		}
	}
	return it, nil
}

// Put implements [state.Store] with one UpdateItem, conditional when
// opts asks for it.
func (s *Store) Put(ctx context.Context, key string, value []byte, opts state.PutOptions) (int64, error) {
	if err := state.CheckPut(key, value, opts); err != nil {
		return 0, err
	}
	if value == nil {
		value = []byte{} // DynamoDB refuses a binary attribute without a value
	}
	now := s.now()
	names := map[string]string{"#v": valueAttr, "#ver": versionAttr, "#ttl": s.ttl}
	values := map[string]types.AttributeValue{
		":v":    &types.AttributeValueMemberB{Value: value},
		":zero": num(0),
		":one":  num(1),
	}
	update := "SET #v = :v, #ver = if_not_exists(#ver, :zero) + :one"
	if opts.TTL > 0 {
		exp := now.Add(opts.TTL)
		sec := exp.Unix()
		if exp.After(time.Unix(sec, 0)) {
			sec++ // round up to the second
		}
		values[":ttl"] = num(sec)
		update += ", #ttl = :ttl"
	} else {
		update += " REMOVE #ttl"
	}
	var cond *string
	switch {
	case opts.IfAbsent:
		names["#pk"] = s.key
		values[":now"] = num(now.Unix())
		cond = aws.String("attribute_not_exists(#pk) OR #ttl <= :now")
	case opts.IfVersion != 0:
		values[":now"] = num(now.Unix())
		values[":expected"] = num(opts.IfVersion)
		cond = aws.String("#ver = :expected AND (attribute_not_exists(#ttl) OR #ttl > :now)")
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       s.itemKey(key),
		UpdateExpression:          &update,
		ConditionExpression:       cond,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, s.wrap("put", key, err)
	}
	v, ok := out.Attributes[versionAttr].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("dynamo: put %q: no version in the response", key)
	}
	return strconv.ParseInt(v.Value, 10, 64)
}

// Delete implements [state.Store] with one DeleteItem.
func (s *Store) Delete(ctx context.Context, key string, ifVersion int64) error {
	if err := state.CheckKey(key); err != nil {
		return err
	}
	in := &dynamodb.DeleteItemInput{TableName: &s.table, Key: s.itemKey(key)}
	if ifVersion != 0 {
		in.ConditionExpression = aws.String("#ver = :expected AND (attribute_not_exists(#ttl) OR #ttl > :now)")
		in.ExpressionAttributeNames = map[string]string{"#ver": versionAttr, "#ttl": s.ttl}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":expected": num(ifVersion), ":now": num(s.now().Unix())}
	}
	if _, err := s.client.DeleteItem(ctx, in); err != nil {
		return s.wrap("delete", key, err)
	}
	return nil
}

// wrap maps DynamoDB errors to the state sentinels.
func (s *Store) wrap(op, key string, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return state.ErrConflict
	}
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("dynamo: %s %q: %w: %q", op, key, ErrTableNotFound, s.table)
	}
	return fmt.Errorf("dynamo: %s %q: %w", op, key, err)
}
