package kmstest

// Key management operations: creating, describing, replicating, rotating
// and enabling keys.

func opCreateKey(s *Server, req *request) (any, *apiError) {
	var in struct {
		KeySpec, CustomerMasterKeySpec, KeyUsage, Description string
		MultiRegion                                           bool
	}
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	if in.KeyUsage != "" && in.KeyUsage != "ENCRYPT_DECRYPT" {
		return nil, errValidation("KeyUsage %q is not supported by kmstest", in.KeyUsage)
	}
	c := keyConfig{spec: in.KeySpec, region: req.region, account: s.account, description: in.Description, multiRegion: in.MultiRegion}
	if c.spec == "" {
		c.spec = in.CustomerMasterKeySpec
	}
	if c.spec == "" {
		c.spec = SymmetricDefault
	}
	k, aerr := s.newKey(c)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"KeyMetadata": s.metadata(k)}, nil
}

func opCreateAlias(s *Server, req *request) (any, *apiError) {
	var in struct{ AliasName, TargetKeyId string }
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	k, aerr := s.lookup(req, in.TargetKeyId, nil, false)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	if aerr := s.addAlias(req.region, in.AliasName, k); aerr != nil {
		return nil, aerr
	}
	return struct{}{}, nil
}

func opDescribeKey(s *Server, req *request) (any, *apiError) {
	k, aerr := s.lookupRef(req, true, false)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	return map[string]any{"KeyMetadata": s.metadata(k)}, nil
}

// metadata renders a KeyMetadata structure. The caller holds s.mu.
func (s *Server) metadata(k *key) map[string]any {
	m := map[string]any{
		"AWSAccountId": k.account, "Arn": k.arn, "KeyId": k.id,
		"CreationDate": float64(k.created.Unix()), "Description": k.description,
		"Enabled": k.state == stateEnabled, "KeyState": k.state,
		"KeySpec": k.spec, "CustomerMasterKeySpec": k.spec, "KeyUsage": "ENCRYPT_DECRYPT",
		"KeyManager": "CUSTOMER", "Origin": "AWS_KMS", "MultiRegion": k.multiRegion,
		"EncryptionAlgorithms": algorithms(k),
	}
	if k.multiRegion {
		typ := "PRIMARY"
		if k.region != k.fam.primaryRegion {
			typ = "REPLICA"
		}
		var replicas []map[string]string
		for _, r := range k.fam.regions {
			if r != k.fam.primaryRegion {
				replicas = append(replicas, map[string]string{"Arn": keyARN(r, k.account, k.id), "Region": r})
			}
		}
		m["MultiRegionConfiguration"] = map[string]any{
			"MultiRegionKeyType": typ,
			"PrimaryKey":         map[string]string{"Arn": keyARN(k.fam.primaryRegion, k.account, k.id), "Region": k.fam.primaryRegion},
			"ReplicaKeys":        replicas,
		}
	}
	return m
}

func opSetState(state string) handler {
	return func(s *Server, req *request) (any, *apiError) {
		k, aerr := s.lookupRef(req, false, false)
		if aerr != nil {
			return nil, aerr
		}
		defer s.mu.Unlock()
		if k.state == statePendingDeletion && state != statePendingDeletion {
			return nil, &apiError{400, "KMSInvalidStateException", k.arn + " is pending deletion."}
		}
		k.state = state
		if state == statePendingDeletion {
			return map[string]any{"KeyId": k.arn, "KeyState": state, "PendingWindowInDays": 30}, nil
		}
		return struct{}{}, nil
	}
}

func opRotation(on bool) handler {
	return func(s *Server, req *request) (any, *apiError) {
		k, aerr := s.lookupRef(req, false, true)
		if aerr != nil {
			return nil, aerr
		}
		defer s.mu.Unlock()
		if !k.symmetric() {
			return nil, &apiError{400, "UnsupportedOperationException", k.arn + " key type is not supported for this operation."}
		}
		k.rotation = on
		return struct{}{}, nil
	}
}

func opRotateKeyOnDemand(s *Server, req *request) (any, *apiError) {
	k, aerr := s.lookupRef(req, false, true)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	if !k.symmetric() || k.region != k.fam.primaryRegion {
		return nil, &apiError{400, "UnsupportedOperationException", k.arn + " cannot be rotated on demand."}
	}
	k.fam.versions = append(k.fam.versions, randomBytes(32))
	return map[string]any{"KeyId": k.arn}, nil
}

func opReplicateKey(s *Server, req *request) (any, *apiError) {
	var in struct {
		KeyId, ReplicaRegion, Description string
	}
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	k, aerr := s.lookup(req, in.KeyId, nil, false)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	r, aerr := s.replicate(k, in.ReplicaRegion)
	if aerr != nil {
		return nil, aerr
	}
	if in.Description != "" {
		r.description = in.Description
	}
	return map[string]any{"ReplicaKeyMetadata": s.metadata(r)}, nil
}
