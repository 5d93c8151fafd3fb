# just a comment

   
