package awsemu

// SSM Parameter Store, read side, for the public parameters AWS publishes under
// /aws/service/: GetParameter of the newest Amazon Linux 2023 AMI ids, which the
// real-AWS acceptance lane's fixture reads before RunInstances
// (notes/aws-behaviour.md#public-ami-parameters).

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// publicAMIParameterPrefix is where AWS publishes the newest Amazon Linux AMI ids.
const publicAMIParameterPrefix = "/aws/service/ami-amazon-linux-latest/"

// publicAMIParameters are the public parameters the emulator serves: the newest
// Amazon Linux 2023 AMIs with the default kernel, per architecture.
var publicAMIParameters = []string{
	publicAMIParameterPrefix + "al2023-ami-kernel-default-x86_64",
	publicAMIParameterPrefix + "al2023-ami-kernel-default-arm64",
}

// publicParameterDate is the LastModifiedDate the emulator reports for its public
// parameters (fixed: the emulator publishes no new AMIs).
var publicParameterDate = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

// PublicAMIID is the image id the emulator's public parameter name resolves to in
// region: stable per region and name, as a real parameter is between releases.
func PublicAMIID(region, name string) string {
	sum := sha256.Sum256([]byte(region + "\x00" + name))
	return "ami-" + hex.EncodeToString(sum[:])[:17]
}

func ssmGetParameter(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		Name           string
		WithDecryption *bool
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if n := len(in.Name); n < 1 || n > 2048 {
		return nil, lenErr(in.Name, "name", 1, 2048, n)
	}
	name := in.Name
	// A public parameter may be named by its ARN, whose account field is empty
	// (GUESS: the empty account, as the AWS CLI's get-parameter output shows it).
	arnPrefix := fmt.Sprintf("arn:%s:ssm:%s::parameter", e.partition(), e.opts.Region)
	name = strings.TrimPrefix(name, arnPrefix)
	for _, p := range publicAMIParameters {
		if p != name {
			continue
		}
		return map[string]any{"Parameter": map[string]any{
			"Name":             p,
			"Type":             "String",
			"Value":            PublicAMIID(e.opts.Region, p),
			"Version":          1,
			"LastModifiedDate": float64(publicParameterDate.Unix()),
			"ARN":              arnPrefix + p,
			// GUESS: the data type AWS reports for its public AMI parameters
			// ("text", the API's default; measured by the lane's fidelity group).
			"DataType": "text",
		}}, nil
	}
	// ParameterNotFound is the GetParameter API reference's error for an unknown
	// name. GUESS: its empty message (measured by the lane's fidelity group).
	return nil, apiErr(400, "ParameterNotFound", "")
}
