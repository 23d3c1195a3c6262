"""Oracle for drover's SigV4 tests: signs requests with python3-botocore's S3SigV4Auth.

Input (stdin): JSON list of {method, bucket, key, query: [[k, v]...], headers: [[k, v]...],
payload_sha256, amz_date, region, access_key, secret_key, token}. Output: one signature per
line. Keys and query values are raw (decoded); botocore does the encoding.
"""
import json
import sys
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

for case in json.load(sys.stdin):
    path = '/' + case['bucket'] + '/' + quote(case['key'].encode('utf-8'), safe='/~')
    req = AWSRequest(method=case['method'], url='http://127.0.0.1:9000' + path,
                     headers=dict(case['headers']), params=[tuple(p) for p in case['query']])
    req.context['timestamp'] = case['amz_date']
    req.headers['X-Amz-Date'] = case['amz_date']
    req.headers['X-Amz-Content-SHA256'] = case['payload_sha256']
    if case['token']:
        req.headers['X-Amz-Security-Token'] = case['token']
    auth = S3SigV4Auth(Credentials(case['access_key'], case['secret_key'], case['token'] or None), 's3',
                       case['region'])
    canonical = auth.canonical_request(req)
    string_to_sign = auth.string_to_sign(req, canonical)
    print(auth.signature(string_to_sign, req))
