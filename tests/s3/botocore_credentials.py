"""Oracle for drover's credential chain: which source python3-botocore picks, and its key id.

Run with the test's environment and files; prints "<method> <access key id>". This botocore
predates AWS_ENDPOINT_URL_<SERVICE>, so its STS client (assume-role, web identity) is pointed
at $AWS_ENDPOINT_URL_STS here: nothing may leave the machine.
"""
import os

import botocore.session

_create_client = botocore.session.Session.create_client


def _create_client_on_loopback(self, service_name, *args, **kwargs):
    if service_name == "sts":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_STS")
        if not endpoint:
            raise RuntimeError("refusing to call the real STS: set AWS_ENDPOINT_URL_STS")
        kwargs["endpoint_url"] = endpoint
    return _create_client(self, service_name, *args, **kwargs)


botocore.session.Session.create_client = _create_client_on_loopback

creds = botocore.session.get_session().get_credentials()
if creds is None:
    print("none")
else:
    print(creds.method, creds.get_frozen_credentials().access_key)
