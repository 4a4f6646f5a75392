"""The AWS provider: EC2 instances, security groups, key pairs, spot requests and EBS volumes.

boto3 is imported only inside this package's functions, never when the CLI starts.
"""

from .provider import AwsProvider as PROVIDER_CLASS

__all__ = ["PROVIDER_CLASS"]
