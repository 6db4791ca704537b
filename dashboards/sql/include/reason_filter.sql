-- With {reason:String} (a failure reason code, '' = all): only the calls that failed with that reason, the rows of
-- `qontak_action_failed` with it. A condition on the rows of {{counts}} (columns event and reason), for the files
-- where a reason means something (failure-reasons, node-types, organizations, actions-timeseries).
({reason:String} = '' OR (event = 'qontak_action_failed' AND reason = {reason:String}))
